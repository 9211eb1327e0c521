package models

import (
	"webcnn/core"
	"webcnn/core/nn"
)

// Lower methods express the zoo's own layer types in nn layers for
// exporters (tools/convert/onnx.Lowerer): the ONNX cross-check of every
// zoo model needs them.

// Lower returns the max pool with this input's "same" padding.
func (p maxPoolSame) Lower(in core.Shape) nn.Layer { return p.pool(in) }

// Lower returns the identity: the shape check has no ONNX counterpart
// (the exported graph declares its input shape).
func (inputSize) Lower(core.Shape) nn.Layer { return nn.Identity{} }
