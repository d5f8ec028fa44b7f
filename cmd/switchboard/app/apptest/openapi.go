package apptest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	verrors "github.com/pb33f/libopenapi-validator/errors"

	"github.com/switchboardhq/switchboard/router/rest"
)

var (
	apiOnce      sync.Once
	apiValidator validator.Validator
	apiErr       error
)

// OpenAPIValidator checks requests and responses against the served OpenAPI document
// (router/rest/openapi.yaml with the records' schemas) with pb33f's libopenapi-validator; the
// document itself is first validated against the OpenAPI 3.1 specification's schema.
func OpenAPIValidator() (validator.Validator, error) {
	apiOnce.Do(func() {
		data, err := rest.OpenAPI()
		if err != nil {
			apiErr = err
			return
		}
		doc, err := libopenapi.NewDocument(data)
		if err != nil {
			apiErr = err
			return
		}
		v, errs := validator.NewValidator(doc)
		if len(errs) > 0 {
			apiErr = fmt.Errorf("the OpenAPI document: %v", errs)
			return
		}
		if ok, verrs := v.ValidateDocument(); !ok {
			var msgs []string
			for _, e := range verrs {
				msgs = append(msgs, e.Error())
			}
			apiErr = fmt.Errorf("the OpenAPI document is not valid OpenAPI 3.1:\n%s", strings.Join(msgs, "\n"))
			return
		}
		apiValidator = v
	})
	return apiValidator, apiErr
}

// CheckAgainstOpenAPI validates one exchange of the REST API and returns what does not agree
// with the document: every response, and the request when the gateway took it (2xx; tests
// send bad requests on purpose). Left aside: the provider channels' webhooks (their
// providers' formats), the dashboard's event stream, the schema files, and attachments (an
// attachment key holds slashes, which an OpenAPI path parameter cannot).
func CheckAgainstOpenAPI(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) []string {
	p := req.URL.Path
	if !strings.HasPrefix(p, "/v1/") || (strings.HasPrefix(p, "/v1/channels/") && !strings.HasPrefix(p, "/v1/channels/api/")) ||
		p == "/v1/dashboard/stream" || strings.HasPrefix(p, "/v1/schemas/") || strings.HasPrefix(p, "/v1/attachments/") {
		return nil
	}
	v, err := OpenAPIValidator()
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	if ok, errs := v.ValidateHttpRequest(r); !ok && resp.StatusCode/100 == 2 {
		for _, e := range errs {
			out = append(out, fmt.Sprintf("request %s %s: %s (%s)", req.Method, p, e.Message, reasons(e.Reason, e.SchemaValidationErrors)))
		}
	}
	r = req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	rs := *resp
	rs.Body = io.NopCloser(bytes.NewReader(respBody))
	if ok, errs := v.ValidateHttpResponse(r, &rs); !ok {
		for _, e := range errs {
			out = append(out, fmt.Sprintf("response %d to %s %s: %s (%s)", resp.StatusCode, req.Method, p, e.Message, reasons(e.Reason, e.SchemaValidationErrors)))
		}
	}
	return out
}

func reasons(reason string, fails []*verrors.SchemaValidationFailure) string {
	parts := []string{reason}
	for _, f := range fails {
		parts = append(parts, strings.Join(f.InstancePath, "/")+": "+f.Reason)
	}
	return strings.Join(parts, "; ")
}
