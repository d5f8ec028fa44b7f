package app

//go:generate go run ./gendoc ../../../docs/configuration.md
//go:generate go run ./gendoc ../../../docs/openapi.json

import (
	_ "embed"
	"reflect"
	"strings"
	"text/template"

	"github.com/switchboardhq/switchboard/configs/cfg"
)

//go:embed configdoc.md.tmpl
var configDocTemplate string

// Module is the module path, for reading doc comments from the source.
const Module = "github.com/switchboardhq/switchboard"

// ConfigurationDoc renders docs/configuration.md from the config types, their doc comments
// (read from the source under root, the repository) and the defaults in their tags.
func ConfigurationDoc(root string) (string, error) {
	comments := cfg.NewComments(root, Module)
	channels := reflect.TypeFor[Channels]()
	channelsField, _ := reflect.TypeFor[Config]().FieldByName("Channels")
	ref, err := cfg.Reference(reflect.TypeFor[Config](), comments, cfg.ReferenceOptions{
		Elide: func(path string, t reflect.Type) (string, bool) {
			if !strings.HasPrefix(path, "channels.") {
				return "", false
			}
			name := strings.TrimPrefix(path, "channels.")
			return "below, and docs/channels/" + channelPage(name), true
		},
	})
	if err != nil {
		return "", err
	}
	_ = channelsField
	type channel struct{ Name, Page, Reference string }
	var chans []channel
	for i := range channels.NumField() {
		f := channels.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		r, err := cfg.Reference(f.Type, comments, cfg.ReferenceOptions{})
		if err != nil {
			return "", err
		}
		chans = append(chans, channel{Name: name, Page: channelPage(name), Reference: indent(r, "    ")})
	}
	t, err := template.New("configuration.md").Parse(configDocTemplate)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	err = t.Execute(&b, map[string]any{"Reference": ref, "Channels": chans})
	return b.String(), err
}

func channelPage(name string) string { return name + ".md" }

func indent(s, by string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = by + l
		}
	}
	return strings.Join(lines, "")
}
