package onnximport

import "webcnn/tools/convert/onnx"

// handler translates one ONNX node.
type handler func(e *importer, n *onnx.Node) error

// handlers are the supported ONNX ops (the default domain, opsets 1-21 as
// far as these ops go).
var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"Conv":                  conv,
		"BatchNormalization":    batchNorm,
		"MaxPool":               pool,
		"AveragePool":           pool,
		"GlobalAveragePool":     globalPool,
		"GlobalMaxPool":         globalPool,
		"Relu":                  unary,
		"Sigmoid":               unary,
		"Tanh":                  unary,
		"HardSigmoid":           unary,
		"HardSwish":             unary,
		"LeakyRelu":             unary,
		"Elu":                   unary,
		"Exp":                   unary,
		"Log":                   unary,
		"Sqrt":                  unary,
		"Neg":                   unary,
		"Abs":                   unary,
		"Reciprocal":            unary,
		"Clip":                  clip,
		"Add":                   binaryNode,
		"Sub":                   binaryNode,
		"Mul":                   binaryNode,
		"Div":                   binaryNode,
		"Max":                   binaryNode,
		"Min":                   binaryNode,
		"Softmax":               softmax,
		"LogSoftmax":            softmax,
		"MatMul":                matMul,
		"Gemm":                  gemm,
		"Reshape":               reshape,
		"Flatten":               flatten,
		"Transpose":             transpose,
		"Squeeze":               squeeze,
		"Unsqueeze":             squeeze,
		"Concat":                concat,
		"Slice":                 slice,
		"Pad":                   pad,
		"ReduceMean":            reduce,
		"ReduceSum":             reduce,
		"ReduceMax":             reduce,
		"ReduceMin":             reduce,
		"ReduceL1":              reduce,
		"ReduceL2":              reduce,
		"ReduceSumSquare":       reduce,
		"ReduceLogSum":          reduce,
		"ReduceLogSumExp":       reduce,
		"Constant":              constantNode,
		"Identity":              identityNode,
		"Dropout":               identityNode,
		"Shape":                 shapeNode,
		"Cast":                  cast,
		"Gather":                gather,
		"Resize":                resize,
		"Upsample":              resize,
		"ConvTranspose":         convTranspose,
		"Pow":                   pow,
		"QuantizeLinear":        quantizeLinear,
		"DequantizeLinear":      dequantizeLinear,
		"DynamicQuantizeLinear": dynamicQuantizeLinear,
		"ConvInteger":           convInteger,
		"MatMulInteger":         matMulInteger,
		"QLinearConv":           qLinearConv,
		"QLinearMatMul":         qLinearMatMul,
	}
}
