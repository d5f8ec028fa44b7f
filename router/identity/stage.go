package identity

import (
	"context"

	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/schema"
)

// Stage is the ingest stage that identifies a message's customer through the
// identity graph (the pipeline tests use a simpler stand-in).
type Stage struct{ g *Graph }

var _ pipeline.Stage = (*Stage)(nil)

// NewStage returns the stage.
func NewStage(g *Graph) *Stage { return &Stage{g: g} }

// Name implements [pipeline.Stage].
func (s *Stage) Name() string { return "identify" }

// Process implements [pipeline.Stage].
func (s *Stage) Process(ctx context.Context, m *schema.Message) error {
	id, err := s.g.Resolve(ctx, m)
	if err != nil {
		return err
	}
	m.CustomerID = id
	return nil
}
