package router

import (
	"context"

	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/schema"
)

// IdentityStage is the ingest stage that identifies a message's customer through the
// identity graph (the gateway wires it instead of pipeline.SenderIdentity).
type IdentityStage struct{ g *Graph }

var _ pipeline.Stage = (*IdentityStage)(nil)

// NewIdentityStage returns the stage.
func NewIdentityStage(g *Graph) *IdentityStage { return &IdentityStage{g: g} }

// Name implements [pipeline.Stage].
func (s *IdentityStage) Name() string { return "identify" }

// Process implements [pipeline.Stage].
func (s *IdentityStage) Process(ctx context.Context, m *schema.Message) error {
	id, err := s.g.Resolve(ctx, m)
	if err != nil {
		return err
	}
	m.CustomerID = id
	return nil
}
