package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/switchboardhq/switchboard/"

// allowedImports reads the "may import" column of the package table in docs/architecture.md:
// package → the project packages it may import ("everything" → nil, any).
func allowedImports(t *testing.T) map[string][]string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	section, _, _ := strings.Cut(string(doc[strings.Index(string(doc), "## Packages"):]), "\n## Host")
	row := regexp.MustCompile("(?m)^\\| `([^`]+)` \\|[^|]*\\| ([^|]*) \\|$")
	tick := regexp.MustCompile("`([^`]+)`")
	out := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		may := strings.TrimSpace(m[2])
		switch may {
		case "everything":
			out[m[1]] = nil
		case "nothing":
			out[m[1]] = []string{}
		default:
			for _, p := range tick.FindAllStringSubmatch(may, -1) {
				out[m[1]] = append(out[m[1]], p[1])
			}
			if out[m[1]] == nil {
				t.Fatalf("architecture.md: cannot read the imports of %s: %q", m[1], may)
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("architecture.md: only %d package rows found", len(out))
	}
	return out
}

type listed struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []listed {
	t.Helper()
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", "../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listed
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rowOf finds the table row that governs package rel: itself, or connectors/<channel>.
func rowOf(rel string, allowed map[string][]string) (string, bool) {
	if _, ok := allowed[rel]; ok {
		return rel, true
	}
	if dir, _, _ := strings.Cut(strings.TrimPrefix(rel, "connectors/"), "/"); strings.HasPrefix(rel, "connectors/") && dir != "" {
		return "connectors/<channel>", true
	}
	return "", false
}

// TestArchitecture: every production package imports only what its row in
// docs/architecture.md allows, every package has a row, and the pure packages (the wire
// contract, the config decoder, the rules engine) do not link NATS at all.
func TestArchitecture(t *testing.T) {
	allowed := allowedImports(t)
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(p.ImportPath, module)
		if strings.HasSuffix(rel, "test") || rel == "cmd/switchboard/app/gendoc" {
			continue // test helpers and the doc generator: not part of the binary
		}
		row, ok := rowOf(rel, allowed)
		if !ok {
			t.Errorf("%s has no row in docs/architecture.md", rel)
			continue
		}
		may := allowed[row]
		for _, imp := range p.Imports {
			dep, ours := strings.CutPrefix(imp, module)
			if !ours || may == nil {
				continue
			}
			if !slices.Contains(may, dep) {
				t.Errorf("%s imports %s, which its row (%s) does not allow", rel, dep, row)
			}
		}
		switch rel {
		case "schema", "configs/cfg", "router/rules", "router/survey", "router/insight/kpi", "router/planning":
			for _, d := range p.Deps {
				if strings.Contains(d, "nats-io") {
					t.Errorf("%s must not depend on NATS, but links %s", rel, d)
				}
			}
		}
	}
}

// The test can fail: a row that allows less than a package imports is reported.
func TestArchitectureTableIsEnforced(t *testing.T) {
	allowed := allowedImports(t)
	if row, _ := rowOf("connectors/email", allowed); row != "connectors/<channel>" {
		t.Fatalf("connectors/email is governed by %q", row)
	}
	if slices.Contains(allowed["router/rules"], "pipeline") || slices.Contains(allowed["connectors"], "router") {
		t.Fatal("the table lets the rules engine or the connector contract import the runtime")
	}
}
