package main

import (
	"fmt"
	"math"
	"strconv"
)

// Option is one property of a JS options object, as the js side reads
// it: its JS type ("undefined", "number", "string", "boolean",
// "object"...) and, for a number, its value; for a string, its text.
type Option struct {
	Type string
	Num  float64
	Text string
}

// Whole reads an option that must be a whole number from lo to hi; an
// absent option (undefined or null) is def. Anything else is a bad-input
// error that names the option, the range and what was given.
func (o Option) Whole(name string, def, lo, hi int) (int, error) {
	switch o.Type {
	case "undefined", "null":
		return def, nil
	case "number":
		if o.Num == math.Trunc(o.Num) && o.Num >= float64(lo) && o.Num <= float64(hi) {
			return int(o.Num), nil
		}
	}
	return 0, fmt.Errorf("%w: option %s: want a whole number from %d to %d, got %s", ErrBadInput, name, lo, hi, o)
}

// String describes the option as a JS programmer wrote it.
func (o Option) String() string {
	switch o.Type {
	case "number":
		return strconv.FormatFloat(o.Num, 'g', -1, 64)
	case "string":
		return strconv.Quote(o.Text)
	}
	if o.Text != "" {
		return o.Type + " " + o.Text
	}
	return o.Type
}

// Limits of classify's options.
const (
	MaxTopK = 1 << 16 // more than any model's classes
	MaxMC   = 10000   // MC-dropout passes
)

// ClassifyOptionsOf checks classify's options: topk a whole number from
// 1 to MaxTopK (default 5), mcDropout 0 (off) or a whole number from 2 to
// MaxMC (one pass has no spread), seed a whole number from 0 to 2^53
// (default: the time).
func ClassifyOptionsOf(topk, mc, seed Option, now uint64) (ClassifyOptions, error) {
	co := ClassifyOptions{Seed: now}
	var err error
	if co.TopK, err = topk.Whole("topk", 5, 1, MaxTopK); err != nil {
		return co, err
	}
	if mc.Type == "boolean" && mc.Text == "false" {
		mc = Option{Type: "undefined"}
	}
	if co.MC, err = mc.Whole("mcDropout", 0, 0, MaxMC); err != nil {
		return co, err
	}
	if co.MC == 1 {
		return co, fmt.Errorf("%w: option mcDropout: 1 pass has no spread: want 0 (off) or 2 to %d passes", ErrBadInput, MaxMC)
	}
	if seed.Type != "undefined" && seed.Type != "null" {
		s, err := seed.Whole("seed", 0, 0, 1<<53)
		if err != nil {
			return co, err
		}
		co.Seed = uint64(s)
	}
	return co, nil
}
