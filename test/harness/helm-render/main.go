// helm-render renders a Helm chart the way `helm template` does, for tests on machines without Helm.
// It uses the engine Helm itself is built on (text/template + sprig v3) plus Helm's own functions
// (include, tpl, required, toYaml, fromYaml, toJson, fromJson, lookup) and objects
// (.Values, .Release, .Chart, .Capabilities, .Template, .Files).
//
// Usage:
//
//	helm-render --chart DIR [--release NAME] [--namespace NS] [-f values.yaml]... [--set a.b=yaml]...
//	            [--existing objects.yaml]
//
// -f files are merged over the chart's values.yaml in order (maps merge, other values replace, null
// deletes); each --set parses its value as YAML and applies last. `lookup` returns objects from
// --existing (a multi-document YAML), else an empty map, like `helm template` without a cluster.
// The output is a multi-document YAML with a `# Source:` comment per template, in file-name order.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	yaml2 "gopkg.in/yaml.v2"
	"gopkg.in/yaml.v3"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// Files mirrors Helm's .Files: every chart file outside templates/.
type Files map[string][]byte

func (f Files) Get(name string) string      { return string(f[name]) }
func (f Files) GetBytes(name string) []byte { return f[name] }
func (f Files) Glob(pattern string) Files {
	out := Files{}
	for name, data := range f {
		if ok, _ := path.Match(pattern, name); ok {
			out[name] = data
		}
	}
	return out
}
func (f Files) AsConfig() string {
	m := map[string]string{}
	for name, data := range f {
		m[path.Base(name)] = string(data)
	}
	return toYaml(m)
}
func (f Files) AsSecrets() string {
	m := map[string]string{}
	for name, data := range f {
		m[path.Base(name)] = b64(data)
	}
	return toYaml(m)
}

// APIVersions mirrors .Capabilities.APIVersions.
type APIVersions []string

func (a APIVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

func toYaml(v interface{}) string {
	data, err := yaml2.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func fromYaml(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func toJson(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(data)
}

func fromJson(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

// merge deep-merges src over dst (Helm's coalescing for user values).
func merge(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, sok := v.(map[string]interface{})
		dm, dok := dst[k].(map[string]interface{})
		if sok && dok {
			dst[k] = merge(dm, sm)
		} else {
			dst[k] = v
		}
	}
	return dst
}

func readYamlMap(file string) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return m, nil
}

// setPath applies `a.b.c=value` (value parsed as YAML; `\.` escapes a dot in a key).
func setPath(values map[string]interface{}, expr string) error {
	i := strings.Index(expr, "=")
	if i < 1 {
		return fmt.Errorf("--set %q: expected key=value", expr)
	}
	var val interface{}
	if err := yaml.Unmarshal([]byte(expr[i+1:]), &val); err != nil {
		return fmt.Errorf("--set %q: %w", expr, err)
	}
	keys := strings.Split(strings.ReplaceAll(expr[:i], `\.`, "\x00"), ".")
	m := values
	for j, k := range keys {
		k = strings.ReplaceAll(k, "\x00", ".")
		if j == len(keys)-1 {
			if val == nil {
				delete(m, k)
			} else {
				m[k] = val
			}
			break
		}
		next, ok := m[k].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			m[k] = next
		}
		m = next
	}
	return nil
}

func b64(data []byte) string {
	return base64.StdEncoding.EncodeToString(data)
}

type lookupIndex map[string]map[string]interface{}

func loadExisting(file string) (lookupIndex, error) {
	idx := lookupIndex{}
	if file == "" {
		return idx, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		obj := map[string]interface{}{}
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		meta, _ := obj["metadata"].(map[string]interface{})
		ns, _ := meta["namespace"].(string)
		idx[fmt.Sprintf("%v/%v/%s/%v", obj["apiVersion"], obj["kind"], ns, meta["name"])] = obj
	}
	return idx, nil
}

func run() error {
	var chartDir, release, namespace, existing string
	var valueFiles, sets multi
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		next := func() string {
			i++
			if i >= len(args) {
				fmt.Fprintf(os.Stderr, "missing value for %s\n", args[i-1])
				os.Exit(2)
			}
			return args[i]
		}
		switch args[i] {
		case "--chart":
			chartDir = next()
		case "--release":
			release = next()
		case "--namespace", "-n":
			namespace = next()
		case "-f", "--values":
			valueFiles.Set(next())
		case "--set":
			sets.Set(next())
		case "--existing":
			existing = next()
		default:
			return fmt.Errorf("unknown argument %q", args[i])
		}
	}
	if chartDir == "" {
		return errors.New("--chart is required")
	}
	if release == "" {
		release = "release-name"
	}
	if namespace == "" {
		namespace = "default"
	}
	chartMeta, err := readYamlMap(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	values, err := readYamlMap(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, f := range valueFiles {
		user, err := readYamlMap(f)
		if err != nil {
			return err
		}
		values = merge(values, user)
	}
	for _, s := range sets {
		if err := setPath(values, s); err != nil {
			return err
		}
	}
	objects, err := loadExisting(existing)
	if err != nil {
		return err
	}

	chartName, _ := chartMeta["name"].(string)
	files := Files{}
	var templates []string
	err = filepath.Walk(chartDir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(chartDir, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "templates/") {
			templates = append(templates, rel)
			return nil
		}
		data, err := os.ReadFile(p)
		files[rel] = data
		return err
	})
	if err != nil {
		return err
	}
	sort.Strings(templates)

	root := template.New("gotpl").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	extra := template.FuncMap{
		"toYaml": toYaml, "fromYaml": fromYaml, "toJson": toJson, "fromJson": fromJson,
		"include": func(name string, data interface{}) (string, error) {
			var buf strings.Builder
			err := root.ExecuteTemplate(&buf, name, data)
			return buf.String(), err
		},
		"tpl": func(text string, data interface{}) (string, error) {
			t, err := root.Clone()
			if err != nil {
				return "", err
			}
			t, err = t.New("tpl").Parse(text)
			if err != nil {
				return "", err
			}
			var buf strings.Builder
			err = t.Execute(&buf, data)
			return strings.ReplaceAll(buf.String(), "<no value>", ""), err
		},
		"required": func(msg string, v interface{}) (interface{}, error) {
			if v == nil {
				return nil, errors.New(msg)
			}
			if s, ok := v.(string); ok && s == "" {
				return nil, errors.New(msg)
			}
			return v, nil
		},
		"lookup": func(apiVersion, kind, ns, name string) (map[string]interface{}, error) {
			if obj, ok := objects[fmt.Sprintf("%s/%s/%s/%s", apiVersion, kind, ns, name)]; ok {
				return obj, nil
			}
			return map[string]interface{}{}, nil
		},
	}
	for k, v := range extra {
		funcs[k] = v
	}
	root.Funcs(funcs)
	for _, name := range templates {
		data, err := os.ReadFile(filepath.Join(chartDir, name))
		if err != nil {
			return err
		}
		if _, err := root.New(chartName + "/" + name).Parse(string(data)); err != nil {
			return err
		}
	}

	top := map[string]interface{}{
		"Values": values,
		"Release": map[string]interface{}{
			"Name": release, "Namespace": namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Chart": map[string]interface{}{
			"Name": chartName, "Version": chartMeta["version"], "AppVersion": chartMeta["appVersion"],
			"Description": chartMeta["description"], "ApiVersion": chartMeta["apiVersion"],
		},
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{"Version": "v1.20.2", "Major": "1", "Minor": "20", "GitVersion": "v1.20.2"},
			"APIVersions": APIVersions{"v1", "apps/v1", "batch/v1", "policy/v1beta1", "rbac.authorization.k8s.io/v1",
				"admissionregistration.k8s.io/v1"},
		},
		"Files": files,
	}
	var out strings.Builder
	for _, name := range templates {
		base := path.Base(name)
		if strings.HasPrefix(base, "_") || base == "NOTES.txt" {
			continue
		}
		top["Template"] = map[string]interface{}{"Name": chartName + "/" + name, "BasePath": chartName + "/templates"}
		var buf strings.Builder
		if err := root.ExecuteTemplate(&buf, chartName+"/"+name, top); err != nil {
			return err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if strings.TrimSpace(text) == "" {
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s/%s\n%s\n", chartName, name, strings.TrimSpace(text))
	}
	_, err = os.Stdout.WriteString(out.String())
	return err
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
