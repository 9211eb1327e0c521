package models_test

import (
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/models"
)

// counting wraps the CPU backend and counts live buffers.
type counting struct {
	*cpu.Backend
	live int
}

func (c *counting) Alloc(n int) (core.Buffer, error) {
	c.live++
	return c.Backend.Alloc(n)
}

func (c *counting) Free(b core.Buffer) {
	c.live--
	c.Backend.Free(b)
}

// A forward pass in inference keeps only its output: every intermediate
// activation is freed (a GPU backend has no garbage collector), through
// Sequential, Residual, Concat and squeeze-and-excitation.
func TestForwardFreesIntermediates(t *testing.T) {
	for _, id := range []string{"resnet18", "densenet121", "mobilenet_v3_small", "googlenet", "lenet5"} {
		spec, err := models.Lookup(id)
		if err != nil {
			t.Fatal(err)
		}
		b := &counting{Backend: cpu.New()}
		net, err := spec.New(nn.NewBuilder(b, 1))
		if err != nil {
			t.Fatal(err)
		}
		in := spec.Input.Clone()
		if in[1] > 64 {
			in[1], in[2] = 64, 64
		}
		x, _ := core.New(b, in)
		before := b.live
		y, err := net.Forward(nn.Eval, x)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.live - before; got != 1 {
			t.Errorf("%s: %d buffers more after a forward pass, want 1 (the output %v)", id, got, y.Shape())
		}
	}
}
