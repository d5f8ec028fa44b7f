package app_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/router/rest"
)

// The OpenAPI document is valid OpenAPI 3.1 (the linter: the specification's own schema,
// through libopenapi-validator) and docs/openapi.json is the one served.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	if _, err := apptest.OpenAPIValidator(); err != nil {
		t.Fatal(err)
	}
	doc, err := rest.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	kept, err := os.ReadFile("../../../docs/openapi.json")
	if err != nil || !bytes.Equal(bytes.TrimSpace(kept), bytes.TrimSpace(doc)) {
		t.Errorf("docs/openapi.json is not the served document (%v): run go generate ./cmd/switchboard/app", err)
	}
}
