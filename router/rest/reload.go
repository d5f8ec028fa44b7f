package rest

import (
	"context"
	"errors"
	"net/http"

	"github.com/switchboardhq/switchboard/connectors"
)

// ConfigReload is what a config reload did (POST /-/reload, SIGHUP).
type ConfigReload struct {
	// Reloaded lists the changed sections now in force (router.agents, rest, …).
	Reloaded []string `json:"reloaded"`
	// RestartRequired lists the changed sections that take effect at the next start.
	RestartRequired []string `json:"restart_required"`
	// Warnings are the rules' roster-dependent problems with the new roster.
	Warnings []string `json:"warnings,omitempty"`
}

// Errors of config reloads.
var (
	// ErrNoConfigFile means the gateway was started without a config file to read again.
	ErrNoConfigFile = errors.New("this gateway was started without a config file: nothing to reload")
	// ErrInvalidConfig means the file (or what it leads to, such as the rules) has problems:
	// the config in force stays.
	ErrInvalidConfig = errors.New("the config file was not reloaded; the config in force stays")
)

// reloadConfig answers POST /-/reload: 200 with what changed, 422 with every problem of a
// bad file (nothing changes), 409 when there is no file.
func (s *API) reloadConfig(ctx context.Context, _ *connectors.Request) (*connectors.Response, error) {
	if s.reload == nil {
		return nil, conflict("no_config_file", ErrNoConfigFile.Error())
	}
	res, err := s.reload(ctx)
	switch {
	case errors.Is(err, ErrNoConfigFile):
		return nil, conflict("no_config_file", err.Error())
	case errors.Is(err, ErrInvalidConfig):
		return nil, &connectors.HTTPError{Status: http.StatusUnprocessableEntity, Code: "invalid_config", Message: err.Error()}
	case err != nil:
		return nil, err
	}
	res.Reloaded, res.RestartRequired = nonNil(res.Reloaded), nonNil(res.RestartRequired)
	return connectors.JSON(http.StatusOK, res), nil
}
