package models

import (
	"encoding/json"
	"math"
	"strconv"
)

// JSONFloats are float32 values that encode as JSON numbers, with NaN and
// the infinities (which JSON has no numbers for) as the strings "NaN",
// "Infinity" and "-Infinity", the spelling of protobuf's JSON mapping: a
// diverging model's output is still a valid answer.
type JSONFloats []float32

// MarshalJSON implements json.Marshaler.
func (v JSONFloats) MarshalJSON() ([]byte, error) {
	if v == nil {
		return []byte("null"), nil
	}
	b := []byte{'['}
	for i, f := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendFloat(b, f)
	}
	return append(b, ']'), nil
}

// appendFloat appends f as encoding/json writes a float32, or as a string
// when it is not finite.
func appendFloat(b []byte, f float32) []byte {
	x := float64(f)
	switch {
	case math.IsNaN(x):
		return append(b, `"NaN"`...)
	case math.IsInf(x, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(x, -1):
		return append(b, `"-Infinity"`...)
	}
	enc, _ := json.Marshal(f) // finite: never fails
	return append(b, enc...)
}

// MarshalJSON writes a class as {"label", "index", "prob"}, with a prob
// that is not finite as JSONFloats writes it.
func (c Class) MarshalJSON() ([]byte, error) {
	label, err := json.Marshal(c.Label)
	if err != nil {
		return nil, err
	}
	b := append([]byte(`{"label":`), label...)
	b = append(b, `,"index":`...)
	b = strconv.AppendInt(b, int64(c.Index), 10)
	b = append(b, `,"prob":`...)
	b = appendFloat(b, c.Prob)
	return append(b, '}'), nil
}
