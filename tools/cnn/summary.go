package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"webcnn/core"
	"webcnn/models"
)

// parseArgs parses flags found anywhere among args (so `summary resnet50
// --json` works) and returns the positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if f := fs.Lookup(name); f != nil && !strings.Contains(a, "=") {
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
				if i+1 < len(args) {
					i++
					flags = append(flags, args[i])
				}
			}
		}
	}
	return pos, fs.Parse(flags)
}

// summary prints a zoo model's per-layer table (or JSON).
func summary(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("summary", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON (params, macs, activation_bytes, layers, ...)")
	size := fs.Int("size", 0, "input height and width (default: the model's)")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: cnn summary <model> [--json] [--size N]")
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("summary: want one model id (see `cnn models`)")
	}
	spec, err := models.Lookup(pos[0])
	if err != nil {
		return err
	}
	in := spec.Input.Clone()
	if *size > 0 {
		in[1], in[2] = *size, *size
	}
	s, err := models.Summarize(spec, in)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(s)
	}
	return s.WriteText(w)
}

// listModels prints the zoo table.
func listModels(w io.Writer) error {
	fmt.Fprintf(w, "%-22s %-16s %14s %10s  %s\n", "model", "input", "params", "GMACs", "paper")
	for _, spec := range models.Zoo {
		s, err := models.Summarize(spec, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%-22s %-16v %14d %10.3f  %s\n", spec.ID, core.Shape(spec.Input[1:]), s.Params, float64(s.MACs)/1e9, spec.Paper)
	}
	return nil
}
