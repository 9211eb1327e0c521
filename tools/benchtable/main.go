// Command benchtable prints `go test -bench` results of several runs side
// by side: one row per benchmark, one column per run, in GFLOP/s (or ns/op
// when a benchmark reports no GFLOP/s).
//
//	go run ./tools/benchtable native=build/bench-native.txt wasm=build/bench-wasm.txt
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// row matches "BenchmarkConv/3x3-2   10   123 ns/op   6.5 GFLOP/s".
var row = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+(.*)$`)

// metrics returns the value of each unit on a benchmark line.
func metrics(rest string) map[string]float64 {
	f := strings.Fields(rest)
	m := map[string]float64{}
	for i := 0; i+1 < len(f); i += 2 {
		if v, err := strconv.ParseFloat(f[i], 64); err == nil {
			m[f[i+1]] = v
		}
	}
	return m
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtable name=file [name=file...]")
		os.Exit(2)
	}
	var cols []string
	var order []string
	vals := map[string]map[string]string{}
	for _, arg := range os.Args[1:] {
		name, file, ok := strings.Cut(arg, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "benchtable: %q is not name=file\n", arg)
			os.Exit(2)
		}
		f, err := os.Open(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
		cols = append(cols, name)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			mt := row.FindStringSubmatch(sc.Text())
			if mt == nil {
				continue
			}
			b, m := strings.TrimPrefix(mt[1], "Benchmark"), metrics(mt[3])
			cell := ""
			if g, ok := m["GFLOP/s"]; ok {
				cell = fmt.Sprintf("%.2f GFLOP/s", g)
			} else if ns, ok := m["ns/op"]; ok {
				cell = fmt.Sprintf("%.3g ms", ns/1e6)
			}
			if vals[b] == nil {
				vals[b] = map[string]string{}
				order = append(order, b)
			}
			vals[b][name] = cell
		}
		f.Close()
	}
	fmt.Printf("| benchmark | %s |\n|---|%s\n", strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
	for _, b := range order {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = vals[b][c]
			if cells[i] == "" {
				cells[i] = "-"
			}
		}
		fmt.Printf("| %s | %s |\n", b, strings.Join(cells, " | "))
	}
}
