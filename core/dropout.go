package core

import (
	"fmt"
	"math/rand/v2"
)

// RNG is the seeded source of every random choice (dropout masks,
// initialization, augmentation), so that runs are reproducible: the same
// seed gives the same masks on every platform.
type RNG struct{ r *rand.Rand }

// NewRNG returns a generator seeded with seed (PCG, identical on every GOOS).
func NewRNG(seed uint64) *RNG {
	return &RNG{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Float32 returns a uniform value in [0, 1).
func (g *RNG) Float32() float32 { return g.r.Float32() }

// NormFloat32 returns a standard normal value.
func (g *RNG) NormFloat32() float32 { return float32(g.r.NormFloat64()) }

// IntN returns a uniform integer in [0, n).
func (g *RNG) IntN(n int) int { return g.r.IntN(n) }

// Mask returns n values: 0 with probability p, 1/(1-p) otherwise
// (inverted dropout: expectations are unchanged, so inference is the identity).
func (g *RNG) Mask(n int, p float32) []float32 {
	m := make([]float32, n)
	keep := 1 / (1 - p)
	for i := range m {
		if g.r.Float32() >= p {
			m[i] = keep
		}
	}
	return m
}

// Dropout mode: in inference every dropout variant is the identity.
type Mode int

// Modes of the regularizers.
const (
	Inference Mode = iota
	Training
)

// dropWith multiplies x by a random mask of the given shape, which
// broadcasts against x: the mask's shape decides what is dropped together.
func dropWith(op string, x *Tensor, p float32, g *RNG, mode Mode, mask Shape) (*Tensor, error) {
	if p < 0 || p >= 1 {
		return nil, fmt.Errorf("%s: drop probability %v must be in [0, 1)", op, p)
	}
	if mode == Inference || p == 0 {
		return Apply(x, Unary{Op: Identity})
	}
	if g == nil {
		return nil, fmt.Errorf("%s: training mode needs an RNG", op)
	}
	m, err := FromData(x.Backend(), mask, g.Mask(mask.Size(), p))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer m.Free()
	return Elementwise(x, m, Mul)
}

// Dropout zeroes each activation with probability p and scales the others
// by 1/(1-p) in training; it is the identity in inference. Note that p is
// the drop probability (the lecture's code uses the keep probability).
func Dropout(x *Tensor, p float32, g *RNG, mode Mode) (*Tensor, error) {
	return dropWith("dropout", x, p, g, mode, x.Shape())
}

// SpatialDropout drops whole activation maps: one draw per sample and
// channel, shared by all spatial positions.
func SpatialDropout(x *Tensor, p float32, g *RNG, mode Mode) (*Tensor, error) {
	s := x.Shape()
	if s.Rank() < 2 {
		return nil, fmt.Errorf("spatial dropout: input %v needs a batch and a channel axis", s)
	}
	mask := make(Shape, s.Rank())
	for i := range mask {
		mask[i] = 1
	}
	mask[0], mask[len(mask)-1] = s[0], s[len(s)-1]
	return dropWith("spatial dropout", x, p, g, mode, mask)
}

// DropConnect zeroes weights rather than activations: it returns the
// weight tensor w masked (and scaled by 1/(1-p)) for one training step.
func DropConnect(w *Tensor, p float32, g *RNG, mode Mode) (*Tensor, error) {
	return dropWith("dropconnect", w, p, g, mode, w.Shape())
}

// StochasticDepth drops a residual branch for whole samples: x is the
// branch's output and each sample's branch survives with probability 1-p
// (scaled by 1/(1-p)), so y = shortcut + StochasticDepth(branch).
func StochasticDepth(x *Tensor, p float32, g *RNG, mode Mode) (*Tensor, error) {
	s := x.Shape()
	if s.Rank() < 1 {
		return nil, fmt.Errorf("stochastic depth: input %v has no batch axis", s)
	}
	mask := make(Shape, s.Rank())
	for i := range mask {
		mask[i] = 1
	}
	mask[0] = s[0]
	return dropWith("stochastic depth", x, p, g, mode, mask)
}
