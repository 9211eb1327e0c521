package models

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/graph"
	"webcnn/core/nn"
	"webcnn/core/weights"
)

// Build makes the network a loaded manifest describes, on backend b, and
// fills its parameters: a zoo architecture by id, with every manifest
// tensor mapped by name (missing, unexpected or mis-sized tensors are
// errors naming them), or an imported graph.
func Build(b core.Backend, m *weights.Model) (nn.Layer, error) {
	man := m.Manifest
	switch {
	case man.Arch != nil:
		spec, err := Lookup(man.Arch.ID)
		if err != nil {
			return nil, err
		}
		if c, ok := man.Arch.Config["classes"]; ok {
			if n, ok := c.(float64); !ok || int(n) != spec.Classes {
				return nil, fmt.Errorf("models: %s: manifest asks for %v classes, the zoo builds %d", spec.ID, c, spec.Classes)
			}
		}
		l, err := spec.New(&nn.Builder{B: b, RNG: core.NewRNG(0), ShapesOnly: true})
		if err != nil {
			return nil, err
		}
		if err := checkShapes(l, man); err != nil {
			return nil, fmt.Errorf("models: %s: %w", man.Model, err)
		}
		if err := nn.Load(l, m.Tensors); err != nil {
			return nil, fmt.Errorf("models: %s: %w", man.Model, err)
		}
		return l, nil
	case len(man.Graph) > 0:
		g, err := graph.Load(b, m)
		if err != nil {
			return nil, err
		}
		return g, nil
	}
	return nil, fmt.Errorf("models: %s: manifest has neither arch nor graph", man.Model)
}

// checkShapes refuses a manifest tensor whose shape is not its
// parameter's, even with as many values (a transposed dense weight).
func checkShapes(l nn.Layer, man *weights.Manifest) error {
	params := nn.Lookup(l)
	for _, e := range man.Tensors {
		if p, ok := params[e.Name]; ok && !p.T.Shape().Equal(core.Shape(e.Shape)) {
			return fmt.Errorf("tensor %q has shape %v, the zoo's %s wants %v", e.Name, e.Shape, man.Arch.ID, p.T.Shape())
		}
	}
	return nil
}
