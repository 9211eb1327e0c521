package tfjs

import (
	"fmt"

	"webcnn/core/graph"
)

// resize translates ResizeBilinear and ResizeNearestNeighbor (a constant
// size [h, w]) with TF's coordinate rules, as TF.js computes them:
//
//   - align_corners: in = out * (in_size-1)/(out_size-1) ("align_corners";
//     nearest rounds halves up, Math.round);
//   - half_pixel_centers: bilinear in = (out + 0.5) * scale - 0.5
//     ("half_pixel"), nearest in = floor((out + 0.5) * scale)
//     ("tf_half_pixel_for_nn");
//   - neither: in = out * scale ("asymmetric"; nearest floors).
//
// scale is in_size/out_size; coordinates outside the input take its edge.
func resize(c *graphConv, n *tfNode, in []*gval) (*gval, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	if err := value(in[0], "the images"); err != nil {
		return nil, err
	}
	k, err := constant(in[1], "the size")
	if err != nil {
		return nil, err
	}
	size, err := k.ints("size")
	if err != nil {
		return nil, err
	}
	x := in[0].shape
	if len(x) != 4 || len(size) != 2 || size[0] < 1 || size[1] < 1 {
		return nil, fmt.Errorf("images %v, size %v: want NHWC images and [height, width]", x, size)
	}
	align, half := n.bool("align_corners"), n.bool("half_pixel_centers")
	if align && half {
		return nil, fmt.Errorf("align_corners and half_pixel_centers together (TF refuses them too)")
	}
	a := graph.ResizeAttrs{Mode: "linear", Coord: "asymmetric", Sizes: []int{0, size[0], size[1], 0}}
	nearest := n.Op == "ResizeNearestNeighbor"
	switch {
	case align:
		a.Coord = "align_corners"
	case half && nearest:
		a.Coord = "tf_half_pixel_for_nn"
	case half:
		a.Coord = "half_pixel"
	}
	if nearest {
		a.Mode, a.Nearest = "nearest", "floor"
		if align {
			a.Nearest = "round_prefer_ceil"
		}
	}
	return c.emit("resize", n.Name, "", []string{in[0].name}, a, []int{x[0], size[0], size[1], x[3]}), nil
}
