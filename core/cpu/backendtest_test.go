package cpu_test

import (
	"testing"

	"webcnn/core/backendtest"
	"webcnn/core/cpu"
)

func TestBackend(t *testing.T)          { backendtest.Run(t, cpu.New()) }
func TestBackendReference(t *testing.T) { backendtest.Run(t, cpu.NewReference()) }
