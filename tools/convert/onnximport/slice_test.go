package onnximport

import (
	"slices"
	"testing"
)

// TestSliceSteps folds Slice of a constant with steps and empty results,
// against hand-computed slices of [[0 1 2 3 4] [5 6 7 8 9]].
func TestSliceSteps(t *testing.T) {
	c := &constant{dims: []int64{2, 5}, isInt: true, i: []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}
	for _, tc := range []struct {
		starts, ends, axes, steps []int64
		dims                      []int64
		want                      []int64
	}{
		{[]int64{0}, []int64{5}, []int64{1}, []int64{2}, []int64{2, 3}, []int64{0, 2, 4, 5, 7, 9}},
		{[]int64{-1}, []int64{-1000}, []int64{1}, []int64{-2}, []int64{2, 3}, []int64{4, 2, 0, 9, 7, 5}},
		{[]int64{1000, 3}, []int64{-1000, 0}, []int64{0, 1}, []int64{-1, -3}, []int64{2, 1}, []int64{8, 3}},
		{[]int64{1000}, []int64{1000}, []int64{1}, nil, []int64{2, 0}, nil},
		{[]int64{0}, []int64{-2}, []int64{0}, []int64{1}, []int64{0, 5}, nil},
		{[]int64{3}, []int64{3}, []int64{-1}, []int64{-1}, []int64{2, 0}, nil},
	} {
		got, err := sliceSteps(c, tc.starts, tc.ends, tc.axes, tc.steps)
		if err != nil {
			t.Fatalf("starts %v ends %v axes %v steps %v: %v", tc.starts, tc.ends, tc.axes, tc.steps, err)
		}
		if !slices.Equal(got.dims, tc.dims) || !slices.Equal(got.i, tc.want) {
			t.Errorf("starts %v ends %v axes %v steps %v: %v %v, want %v %v", tc.starts, tc.ends, tc.axes, tc.steps, got.dims, got.i, tc.dims, tc.want)
		}
	}
	if _, err := sliceSteps(c, []int64{0}, []int64{1}, []int64{0}, []int64{0}); err == nil {
		t.Error("a step of 0 was accepted")
	}
}
