package tfjs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// A TF.js graph model (model.json with "format": "graph-model") holds a
// TensorFlow GraphDef in protobuf's JSON mapping: modelTopology.node is a
// list of {name, op, input, attr}, where input names "node", "node:k"
// (output k) or "^node" (a control dependency), and attr maps names to
// AttrValue messages: {"s": base64 bytes}, {"i": "int64 as a string"},
// {"f": float}, {"b": bool}, {"type": "DT_FLOAT"}, {"shape": {"dim":
// [{"size": "-1"}]}}, {"tensor": {...}} and {"list": {"i": [...], "s":
// [...], ...}}. Const nodes carry no values: the TF.js converter moves
// them into the weights manifest under the node's name.

// graphDef is modelTopology of a graph model.
type graphDef struct {
	Node []tfNode `json:"node"`
}

// tfNode is one NodeDef.
type tfNode struct {
	Name  string            `json:"name"`
	Op    string            `json:"op"`
	Input []string          `json:"input"`
	Attr  map[string]tfAttr `json:"attr"`
}

// tfAttr is an AttrValue; only the fields the importer reads are kept.
type tfAttr struct {
	S     *string  `json:"s"`
	I     *tfInt   `json:"i"`
	F     *tfFloat `json:"f"`
	B     *bool    `json:"b"`
	Type  string   `json:"type"`
	Shape *tfShape `json:"shape"`
	List  *tfList  `json:"list"`
}

// tfList is AttrValue.ListValue.
type tfList struct {
	S []string  `json:"s"`
	I []tfInt   `json:"i"`
	F []tfFloat `json:"f"`
}

// tfShape is a TensorShapeProto.
type tfShape struct {
	Dim         []struct{ Size tfInt } `json:"dim"`
	UnknownRank bool                   `json:"unknownRank"`
}

// tfInt is an int64 written as a JSON string (protobuf's mapping) or a number.
type tfInt int64

func (v *tfInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("integer %s: %w", clip(b), err)
	}
	*v = tfInt(n)
	return nil
}

// tfFloat is a float written as a number or as "NaN", "Infinity", "-Infinity".
type tfFloat float64

func (v *tfFloat) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	switch s {
	case "NaN":
		*v = tfFloat(math.NaN())
	case "Infinity":
		*v = tfFloat(math.Inf(1))
	case "-Infinity":
		*v = tfFloat(math.Inf(-1))
	default:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("float %s: %w", clip(b), err)
		}
		*v = tfFloat(f)
	}
	return nil
}

// parseGraphDef decodes modelTopology.
func parseGraphDef(raw json.RawMessage) (*graphDef, error) {
	var g graphDef
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// isGraphTopology reports whether a modelTopology is a GraphDef (it has
// "node") rather than a Keras config.
func isGraphTopology(raw json.RawMessage) bool {
	var probe struct {
		Node json.RawMessage `json:"node"`
	}
	return json.Unmarshal(raw, &probe) == nil && len(probe.Node) > 0 && !bytes.Equal(probe.Node, []byte("null"))
}

// str returns a string attribute (base64 in JSON), or def when absent.
func (n *tfNode) str(name, def string) (string, error) {
	a, ok := n.Attr[name]
	if !ok || a.S == nil {
		return def, nil
	}
	b, err := base64.StdEncoding.DecodeString(*a.S)
	if err != nil {
		return "", fmt.Errorf("attr %s: %w", name, err)
	}
	return string(b), nil
}

// strs returns a list of strings attribute.
func (n *tfNode) strs(name string) ([]string, error) {
	a, ok := n.Attr[name]
	if !ok || a.List == nil {
		return nil, nil
	}
	out := make([]string, len(a.List.S))
	for i, s := range a.List.S {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("attr %s: %w", name, err)
		}
		out[i] = string(b)
	}
	return out, nil
}

// int returns an integer attribute, or def when absent.
func (n *tfNode) int(name string, def int) (int, error) {
	a, ok := n.Attr[name]
	if !ok || a.I == nil {
		return def, nil
	}
	if *a.I < -maxInt || *a.I > maxInt {
		return 0, fmt.Errorf("attr %s: %d is out of range", name, *a.I)
	}
	return int(*a.I), nil
}

// maxInt bounds integer attributes and constant indexes.
const maxInt = 1 << 30

// ints returns a list of integers attribute (nil when absent).
func (n *tfNode) ints(name string) ([]int, error) {
	a, ok := n.Attr[name]
	if !ok || a.List == nil {
		return nil, nil
	}
	out := make([]int, len(a.List.I))
	for i, v := range a.List.I {
		if v < -maxInt || v > maxInt {
			return nil, fmt.Errorf("attr %s: %d is out of range", name, v)
		}
		out[i] = int(v)
	}
	return out, nil
}

// float returns a float attribute as float32, or def when absent.
func (n *tfNode) float(name string, def float32) (float32, error) {
	a, ok := n.Attr[name]
	if !ok || a.F == nil {
		return def, nil
	}
	f := float64(*a.F)
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > math.MaxFloat32 {
		return 0, fmt.Errorf("attr %s: %v is not a finite float32", name, f)
	}
	return float32(f), nil
}

// bool returns a boolean attribute, false when absent.
func (n *tfNode) bool(name string) bool {
	a, ok := n.Attr[name]
	return ok && a.B != nil && *a.B
}

// splitInput parses an input reference: "node", "node:k" or "^node".
func splitInput(in string) (node string, output int, control bool, err error) {
	if strings.HasPrefix(in, "^") {
		return in[1:], 0, true, nil
	}
	if i := strings.LastIndexByte(in, ':'); i >= 0 {
		k, err := strconv.Atoi(in[i+1:])
		if err != nil || k < 0 || k > maxInt {
			return "", 0, false, fmt.Errorf("input %q: bad output index", in)
		}
		return in[:i], k, false, nil
	}
	return in, 0, false, nil
}
