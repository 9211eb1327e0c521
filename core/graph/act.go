package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"webcnn/core"
	"webcnn/core/nn"
)

func init() {
	register("act", decodeAttrs(newAct))
}

// Act is an activation: a core unary op by name ("relu", "relu6",
// "leaky_relu", "hard_swish", "clip", "affine"...) with its parameters
// (Alpha, Beta: see core.UnaryOp). In JSON it is {"op": "leaky_relu",
// "alpha": 0.1}; a hand-written graph may give the name alone ("relu").
type Act struct {
	Op    string  `json:"op"`
	Alpha float32 `json:"alpha,omitempty"`
	Beta  float32 `json:"beta,omitempty"`
}

// UnmarshalJSON accepts "relu" as well as {"op": "relu"}.
func (a *Act) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err == nil {
		*a = Act{Op: name}
		return nil
	}
	type plain Act
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("activation: %w", err)
	}
	*a = Act(p)
	return nil
}

// Unary returns the core op, or an error naming the known ones.
func (a *Act) Unary() (core.Unary, error) {
	if a == nil || a.Op == "" {
		return core.Unary{}, nil
	}
	var names []string
	for op := core.UnaryOp(0); op.String() != "unary?"; op++ {
		if op.String() == a.Op {
			return core.Unary{Op: op, Alpha: a.Alpha, Beta: a.Beta}, nil
		}
		names = append(names, op.String())
	}
	return core.Unary{}, fmt.Errorf("unknown activation %q (have %s)", a.Op, strings.Join(names, ", "))
}

type actOp struct {
	opBase
	f core.Unary
}

func newAct(a Act) (graphOp, error) {
	if a.Op == "" {
		return nil, fmt.Errorf("act: no op")
	}
	f, err := a.Unary()
	return &actOp{f: f}, err
}

func (a *actOp) arity() (int, int) { return 1, 1 }

func (a *actOp) run(in []*core.Tensor) ([]*core.Tensor, error) { return one(core.Apply(in[0], a.f)) }

func (a *actOp) plan(t *nn.Trace, in []*core.Tensor, f nn.Field) ([]core.Shape, nn.Field, error) {
	out, f, err := (&nn.Activation{F: a.f}).Plan(t, in[0].Shape(), f)
	return []core.Shape{out}, f, err
}
