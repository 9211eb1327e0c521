package data

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// grid builds a one-channel image from rows of samples.
func grid(rows ...[]float32) *Image {
	img := &Image{H: len(rows), W: len(rows[0]), C: 1}
	for _, r := range rows {
		img.Pix = append(img.Pix, r...)
	}
	return img
}

// equalPix reports whether got has the extents of want and exactly its samples.
func equalPix(got, want *Image) bool {
	return maxDiff(got, want) == 0
}

func TestResize(t *testing.T) {
	tests := []struct {
		name   string
		in     *Image
		method Method
		want   *Image
	}{
		{
			// Upscale 2 -> 4: scale 2/4 = 0.5, src = (d+0.5)*0.5 - 0.5 =
			// -0.25, 0.25, 0.75, 1.25 for d = 0..3. Along a row [0 10]:
			// -0.25 clamps to sample 0 -> 0; 0.25 -> 0.75*0 + 0.25*10 = 2.5;
			// 0.75 -> 7.5; 1.25 clamps to sample 1 -> 10. Column fractions
			// 0, 0.25, 0.75, 1 add 20*fraction (the rows differ by 20).
			"bilinear up 2x2->4x4", grid([]float32{0, 10}, []float32{20, 30}), Bilinear,
			grid(
				[]float32{0, 2.5, 7.5, 10},
				[]float32{5, 7.5, 12.5, 15},
				[]float32{15, 17.5, 22.5, 25},
				[]float32{20, 22.5, 27.5, 30}),
		},
		{
			// Downscale 4 -> 2: src = (d+0.5)*2 - 0.5 = 0.5, 2.5, so each
			// output is the mean of a 2x2 block of 0..15:
			// (0+1+4+5)/4 = 2.5, (2+3+6+7)/4 = 4.5, (8+9+12+13)/4 = 10.5,
			// (10+11+14+15)/4 = 12.5.
			"bilinear down 4x4->2x2", grid(
				[]float32{0, 1, 2, 3},
				[]float32{4, 5, 6, 7},
				[]float32{8, 9, 10, 11},
				[]float32{12, 13, 14, 15}), Bilinear,
			grid([]float32{2.5, 4.5}, []float32{10.5, 12.5}),
		},
		{
			// Keys a = -0.5: k(x) = 1.5|x|^3 - 2.5|x|^2 + 1 on |x| <= 1,
			// -0.5|x|^3 + 2.5|x|^2 - 4|x| + 2 on 1 < |x| < 2, giving
			// k(0.25) = 0.8671875, k(0.75) = 0.2265625,
			// k(1.25) = -0.0703125, k(1.75) = -0.0234375.
			// Row [0 10], src as above, taps floor(src)-1..floor(src)+2
			// clamped to the edge:
			// d=0: src -0.25, taps -2,-1,0,1 -> 0,0,0,10, weights
			//      k(1.75),k(0.75),k(0.25),k(1.25): 10*k(1.25) = -0.703125
			// d=1: src 0.25, taps -1,0,1,2 -> 0,0,10,10, weights
			//      k(1.25),k(0.25),k(0.75),k(1.75): 10*(k(.75)+k(1.75)) = 2.03125
			// d=2: mirror of d=1: 10 - 2.03125 = 7.96875
			// d=3: mirror of d=0: 10 + 0.703125 = 10.703125
			// The input is 10*col + 20*row and the weights sum to 1, so
			// out = r[x] + 2*r[y] with r = the row result above.
			"bicubic up 2x2->4x4", grid([]float32{0, 10}, []float32{20, 30}), Bicubic,
			grid(
				[]float32{-0.703125 - 1.40625, 2.03125 - 1.40625, 7.96875 - 1.40625, 10.703125 - 1.40625},
				[]float32{-0.703125 + 4.0625, 2.03125 + 4.0625, 7.96875 + 4.0625, 10.703125 + 4.0625},
				[]float32{-0.703125 + 15.9375, 2.03125 + 15.9375, 7.96875 + 15.9375, 10.703125 + 15.9375},
				[]float32{-0.703125 + 21.40625, 2.03125 + 21.40625, 7.96875 + 21.40625, 10.703125 + 21.40625}),
		},
		{
			// Downscale 4 -> 2 bicubic: src = 0.5 and 2.5, t = 0.5, weights
			// k(1.5), k(0.5), k(0.5), k(1.5) = -0.0625, 0.5625, 0.5625, -0.0625.
			// Row [0 1 2 3], d=0: taps -1..2 -> 0,0,1,2:
			// 0.5625*1 - 0.0625*2 = 0.4375; d=1: taps 1..4 -> 1,2,3,3:
			// -0.0625 + 1.125 + 1.6875 - 0.1875 = 2.5625. Rows differ by 4,
			// so out = r[x] + 4*r[y].
			"bicubic down 4x4->2x2", grid(
				[]float32{0, 1, 2, 3},
				[]float32{4, 5, 6, 7},
				[]float32{8, 9, 10, 11},
				[]float32{12, 13, 14, 15}), Bicubic,
			grid([]float32{0.4375 + 1.75, 2.5625 + 1.75}, []float32{0.4375 + 10.25, 2.5625 + 10.25}),
		},
		{
			// Only the width changes: rows resize independently and keep
			// their values exactly (scale 1 along y puts src on samples).
			"bilinear 2x2->2x4", grid([]float32{0, 10}, []float32{20, 30}), Bilinear,
			grid([]float32{0, 2.5, 7.5, 10}, []float32{20, 22.5, 27.5, 30}),
		},
	}
	for _, tc := range tests {
		got, err := Resize(tc.in, tc.want.H, tc.want.W, tc.method)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !equalPix(got, tc.want) {
			t.Errorf("%s:\ngot  %v\nwant %v", tc.name, got.Pix, tc.want.Pix)
		}
	}
}

func TestResizeChannels(t *testing.T) {
	// Channels are independent: channel c of the input is the 2x2 grid
	// [0 10; 20 30] plus 100c, so channel c of the output is the one-channel
	// result plus 100c (the weights sum to 1).
	in := NewImage(2, 2, 3)
	for i := range in.Pix {
		in.Pix[i] = float32(10*(i/3) + 100*(i%3))
	}
	for _, m := range []Method{Bilinear, Bicubic} {
		one, _ := Resize(grid([]float32{0, 10}, []float32{20, 30}), 3, 5, m)
		got, err := Resize(in, 3, 5, m)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range got.Pix {
			if want := one.Pix[i/3] + float32(100*(i%3)); v != want {
				t.Errorf("%v: sample %d = %v, want %v", m, i, v, want)
			}
		}
	}
}

func TestResizeIdentity(t *testing.T) {
	// Same size: src = d exactly, the kernels weigh the tap at d with 1 and
	// the others with 0, so every sample comes back bit for bit.
	in := NewImage(5, 7, 3)
	for i := range in.Pix {
		in.Pix[i] = float32(i*i%97) / 7 // values that are not dyadic
	}
	for _, m := range []Method{Bilinear, Bicubic} {
		got, err := Resize(in, 5, 7, m)
		if err != nil {
			t.Fatal(err)
		}
		if !equalPix(got, in) {
			t.Errorf("%v identity resize changed the image:\ngot  %v\nwant %v", m, got.Pix, in.Pix)
		}
	}
}

func TestResizeErrors(t *testing.T) {
	good := NewImage(2, 2, 1)
	for _, tc := range []struct {
		img    *Image
		h, w   int
		method Method
		want   string
	}{
		{good, 0, 2, Bilinear, "non-positive size"},
		{good, 2, 2, Method(7), "unknown method Method(7)"},
		{&Image{H: 2, W: 2, C: 1, Pix: make([]float32, 3)}, 2, 2, Bilinear, "image 2x2x1 has 3 samples, want 4"},
		{nil, 2, 2, Bilinear, "nil image"},
	} {
		_, err := Resize(tc.img, tc.h, tc.w, tc.method)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Resize(%dx%d, %v) error %v, want one containing %q", tc.h, tc.w, tc.method, err, tc.want)
		}
	}
}

func TestCenterCrop(t *testing.T) {
	// 4x5 image of values 0..19 (row-major).
	in := NewImage(4, 5, 1)
	for i := range in.Pix {
		in.Pix[i] = float32(i)
	}
	for _, tc := range []struct {
		h, w int
		want []float32
	}{
		// top = round(2/2) = 1, left = round(3/2) = round(1.5) = 2:
		// rows 1..2, cols 2..3 -> 7 8 / 12 13.
		{2, 2, []float32{7, 8, 12, 13}},
		// top = round(1/2) = 0 (tie to even), left = round(2/2) = 1.
		{3, 3, []float32{1, 2, 3, 6, 7, 8, 11, 12, 13}},
		// Full size: the image itself.
		{4, 5, in.Pix},
	} {
		got, err := CenterCrop(in, tc.h, tc.w)
		if err != nil {
			t.Fatal(err)
		}
		if !equalPix(got, &Image{H: tc.h, W: tc.w, C: 1, Pix: tc.want}) {
			t.Errorf("CenterCrop(4x5, %d, %d) = %v, want %v", tc.h, tc.w, got.Pix, tc.want)
		}
	}
	if _, err := CenterCrop(in, 5, 5); err == nil || !strings.Contains(err.Error(), "center crop 5x5 out of image 4x5x1") {
		t.Errorf("CenterCrop too large: error %v", err)
	}
}

func TestResizeShorter(t *testing.T) {
	// 4x8 (shorter side H = 4) to side 2 halves both sides: 2x4, each output
	// the mean of a 2x2 block (see "bilinear down" above). Input value
	// 8y + x: block means 8*0.5 + 2j + 0.5 and 8*2.5 + 2j + 0.5.
	in := NewImage(4, 8, 1)
	for i := range in.Pix {
		in.Pix[i] = float32(i)
	}
	got, err := ResizeShorter(in, 2, Bilinear)
	if err != nil {
		t.Fatal(err)
	}
	want := grid([]float32{4.5, 6.5, 8.5, 10.5}, []float32{20.5, 22.5, 24.5, 26.5})
	if !equalPix(got, want) {
		t.Errorf("ResizeShorter(4x8, 2) = %s %v, want 2x4x1 %v", got.size(), got.Pix, want.Pix)
	}
	// Longer side floor(side*long/short): 3x5 -> side 2 gives 2 x floor(10/3) = 2x3;
	// 7x3 -> side 2 gives floor(14/3) x 2 = 4x2.
	for _, tc := range []struct{ h, w, side, wantH, wantW int }{{3, 5, 2, 2, 3}, {7, 3, 2, 4, 2}, {6, 6, 3, 3, 3}} {
		got, err := ResizeShorter(NewImage(tc.h, tc.w, 1), tc.side, Bicubic)
		if err != nil || got.H != tc.wantH || got.W != tc.wantW {
			t.Errorf("ResizeShorter(%dx%d, %d) = %v, %v; want %dx%d", tc.h, tc.w, tc.side, got, err, tc.wantH, tc.wantW)
		}
	}
}

func ExampleResize() {
	img := &Image{H: 2, W: 2, C: 1, Pix: []float32{0, 10, 20, 30}}
	up, err := Resize(img, 4, 4, Bilinear)
	if err != nil {
		fmt.Println(err)
		return
	}
	for y := 0; y < up.H; y++ {
		fmt.Println(up.Pix[y*up.W : (y+1)*up.W])
	}
	// Output:
	// [0 2.5 7.5 10]
	// [5 7.5 12.5 15]
	// [15 17.5 22.5 25]
	// [20 22.5 27.5 30]
}

// TestResizeCoords checks the three coordinate mappings on one row of
// samples 0, 10, 20 by hand: align corners maps the ends onto the ends
// (5 outputs at src 0, 0.5, 1, 1.5, 2), asymmetric starts at 0 and steps
// n/m (src 0, 0.6, 1.2, 1.8, 2.4, clamped past the last sample), half
// pixel centres (src -0.2, 0.4, 1, 1.6, 2.2, clamped at both ends).
func TestResizeCoords(t *testing.T) {
	img := NewImage(1, 3, 1)
	copy(img.Pix, []float32{0, 10, 20})
	for _, c := range []struct {
		coords Coords
		want   []float32
	}{
		{AlignCorners, []float32{0, 5, 10, 15, 20}},
		{Asymmetric, []float32{0, 6, 12, 18, 20}},
		{HalfPixel, []float32{0, 4, 10, 16, 20}},
	} {
		out, err := ResizeWith(img, 1, 5, Bilinear, c.coords)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range c.want {
			if math.Abs(float64(out.Pix[i]-w)) > 1e-5 {
				t.Errorf("%v: sample %d = %v, want %v (row %v)", c.coords, i, out.Pix[i], w, out.Pix)
			}
		}
		if p, err := ParseCoords(c.coords.String()); err != nil || p != c.coords {
			t.Errorf("ParseCoords(%q) = %v, %v", c.coords, p, err)
		}
	}
	one, err := ResizeWith(img, 1, 1, Bilinear, AlignCorners)
	if err != nil || one.Pix[0] != 0 {
		t.Errorf("align corners to one sample: %v, %v; want the first sample (0), as TF.js", one, err)
	}
	if _, err := ParseCoords("corners"); err == nil {
		t.Error("ParseCoords(corners): no error")
	}
}
