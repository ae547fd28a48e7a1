/**
 * JSON Schema (draft-07 compatible, no formats, no $ref) of the top-level `alerting` section.
 * Embedded by the config schema and Helm's values.schema.json. Checks that need the file system or the
 * environment (template exists and renders JSON, URL parses, header lines, ${VAR}s set) live in config.ts.
 */

/** Template names are file names without `.json.hbs` (or Connaisseur's `.json`); no path separators, so no `../`. */
export const TEMPLATE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]*$';

const receiverSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['template', 'receiverUrl'],
  properties: {
    name: {
      type: 'string',
      minLength: 1,
      maxLength: 100,
      description: 'Name used in logs, metrics and denial messages. Default: the path in the document, e.g. rejectRequest.receivers[0].',
    },
    template: {
      type: 'string',
      pattern: TEMPLATE_NAME_PATTERN,
      description: 'Template name: the file <template>.json.hbs (or Connaisseur\'s <template>.json) in alerting.templateDirectory or the shipped alert-templates.',
    },
    receiverUrl: { type: 'string', pattern: '^[Hh][Tt][Tt][Pp][Ss]?://', description: 'http(s) URL the alert is POSTed to.' },
    priority: { type: 'integer', minimum: 0, default: 3, description: 'Alert priority (0 highest; any whole number, as in Connaisseur), available to templates; priority_name names 0–7.' },
    customHeaders: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', minLength: 1 },
      description: 'Extra HTTP headers as "Name: value"; ${VAR} in a value is replaced by the environment variable VAR.',
    },
    payloadFields: {
      type: 'object',
      minProperties: 1,
      description: 'Object deep-merged into the rendered JSON payload; its keys override the template.',
    },
    failIfAlertSendingFails: {
      type: 'boolean',
      default: false,
      description: 'For admitted requests: wait for this receiver and deny the request when the alert cannot be delivered.',
    },
    dedupeSeconds: {
      type: 'integer',
      minimum: 0,
      maximum: 86400,
      default: 0,
      description: 'Suppress identical alerts (same decision, dry run or not, namespace, images and reason) within this many seconds.',
    },
  },
};

const sectionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['receivers'],
  properties: {
    receivers: { type: 'array', items: receiverSchema },
  },
};

export const alertingSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    clusterIdentifier: { type: 'string', minLength: 1, default: 'not specified', description: 'Cluster name shown in alerts.' },
    templateDirectory: {
      type: 'string',
      pattern: '^/',
      description: 'Absolute path of a directory with custom <template>.json.hbs (or Connaisseur <template>.json) files (e.g. a mounted ConfigMap); searched before the shipped templates.',
    },
    admitRequest: sectionSchema,
    rejectRequest: sectionSchema,
  },
};
