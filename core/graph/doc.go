// Package graph is the runtime's intermediate representation of imported
// networks (ONNX, TF.js): a list of typed nodes over named values that a
// manifest carries in its "graph" field, validated and bound to its
// weights on a backend (New, Load), fused for inference (Spec.Fuse) and
// run (Graph.Run; a Graph is an nn.Layer):
//
//	{"inputs": ["input"], "outputs": ["output"],
//	 "nodes": [{"op": "conv", "name": "Conv1", "inputs": ["input", "Conv1/kernel"],
//	            "outputs": ["Conv1"], "attrs": {"stride": [2, 2], "pad": "same"}}]}
//
// Values are NHWC like every activation of the runtime, and each op maps
// onto op functions of core, so a graph runs on every core.Backend (the
// CPU reference, WebGPU): importers convert layouts (ONNX NCHW to NHWC,
// OIHW to HWIO) when they write the graph, so the executor never
// transposes implicitly. A node input that names a manifest tensor is a
// weight; any other input names a graph input or an output of an earlier
// node (nodes are listed in execution order).
//
// One file per op family; each registers its ops (register, op.go) with
// the attributes it takes. Inputs are listed as (x, weights...):
//
//	conv.go         conv             x, w [K1..Kd, Cin/groups, Cout], bias?   ConvAttrs
//	dense.go        dense            x [..., In], w [In, Out], bias?           DenseAttrs (on the last axis)
//	pool.go         pool             x                                         PoolAttrs
//	                global_avg_pool  x -> [N, 1.., C]
//	                global_max_pool  x -> [N, 1.., C]
//	act.go          act              x                                         Act (a core unary op by name)
//	elementwise.go  add sub mul div max min   a, b (numpy broadcasting)
//	softmax.go      softmax log_softmax  x                                     AxisAttrs (default -1)
//	norm.go         batch_norm       x, gamma, beta, mean, var                 NormAttrs (eps, default 1e-5)
//	                layer_norm       x, gamma, beta (trailing axes)            NormAttrs
//	reduce.go       mean sum reduce_max reduce_min reduce_prod  x              ReduceAttrs
//	pad.go          pad              x                                         PadAttrs (constant)
//	reshape.go      reshape          x (a view)                                ReshapeAttrs (0 copies, -1 infers)
//	                flatten          x (a view)                                FlattenAttrs (default axis 1)
//	                identity         x (the same tensor)
//	transpose.go    transpose        x                                         TransposeAttrs
//	concat.go       concat           x...                                      AxisAttrs (default -1)
//	                split            x -> len(sizes) outputs                   SplitAttrs
//	slice.go        slice            x                                         SliceAttrs (steps: one strided copy)
//	resize.go       resize           x                                         ResizeAttrs (nearest, linear, cubic; ONNX's coordinate modes)
//	convtranspose.go conv_transpose  x, w [K1..Kd, Cout/groups, Cin], bias?    ConvTransposeAttrs
//	matmul.go       matmul           a, b (either may be a weight; numpy's batched matmul)
//
// The other files: graph.go (Spec, Node, validation and binding), op.go
// (the op interface, the registry, shared attribute checks), run.go (the
// executor and shape planning), fuse.go (batch norms and activations
// folded into the layer before them), cut.go (a classifier's feature
// extractor for fine-tuning).
package graph
