// Package autograd holds the gradient rules of core's ops, one per op
// (tinygrad's habit): each takes what the forward pass saw (inputs,
// outputs, saved statistics) and the gradient of the loss with respect to
// the op's output, and returns the gradients with respect to its inputs.
// Every rule is written with core's op functions, so it runs on any
// Backend, WebGPU included, with the kernels the forward pass already
// needs:
//
//   - convolution: the input gradient is a transposed convolution (dy
//     spread by the stride into a zero border, convolved with the kernel
//     flipped by a negative-stride Copy and its channel axes swapped), the
//     weight gradient a convolution of the input by dy with batch and
//     channels exchanged and stride and dilation swapped (ConvInputGrad,
//     ConvWeightGrad, BiasGrad), for every stride, padding, dilation and
//     grouping;
//   - pooling: average pooling is the transposed depthwise convolution of
//     a ones kernel; max pooling routes dy to each window's first maximum
//     with strided copies and comparison masks (PoolGrad; a backend may
//     supply the PoolGrader kernel instead);
//   - elementwise functions: UnaryGrad for every core.UnaryOp, with the
//     comparisons of piecewise functions built from Affine and Clip
//     (exact 0/1 masks, no comparison kernel); ElementwiseGrad and SumTo
//     for broadcasting binary ops; ReduceGrad;
//   - normalizations: Normalize and Normalized.Grad (batch, layer and
//     group norm share one rule), AffineGrad;
//   - the loss: SoftmaxCrossEntropy with label smoothing.
//
// Layers put these together in core/nn (Trainable, Pullback). NumericGrad,
// Dot and Close are the central-difference check every rule is tested
// with.
package autograd
