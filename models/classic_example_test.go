package models_test

import (
	"fmt"

	"webcnn/core"
	"webcnn/core/nn"
	"webcnn/models"
)

// VGG-16 with and without batch norm, planned on the shape-only backend:
// parameters (torchvision: 138,357,544 and 138,365,992), output shape and
// multiply-adds of one 224x224 image (torchvision: 15.47 G).
func ExampleVGG() {
	for _, bn := range []bool{false, true} {
		bd := &nn.Builder{B: nn.Shapes{}, RNG: core.NewRNG(0), ShapesOnly: true}
		m := models.VGG(bd, models.VGG16, bn, 1000)
		out, rows, err := nn.PlanOf(m, core.Shape{1, 224, 224, 3})
		if err != nil {
			fmt.Println(err)
			return
		}
		var macs int64
		for _, r := range rows {
			macs += r.MACs
		}
		fmt.Println(nn.Count(m), out, macs)
	}
	// Output:
	// 138357544 [1 1000] 15470264320
	// 138365992 [1 1000] 15470264320
}

// Inception v3 takes 299x299 inputs; its parameter names are torchvision's.
func ExampleInceptionV3() {
	bd := &nn.Builder{B: nn.Shapes{}, RNG: core.NewRNG(0), ShapesOnly: true}
	m := models.InceptionV3(bd, 1000)
	out, _, err := nn.PlanOf(m, core.Shape{1, 299, 299, 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	p := nn.Lookup(m)["Mixed_6b.branch7x7_2.conv.weight"]
	fmt.Println(nn.Count(m), out, p.T.Shape())
	// Output: 23834568 [1 1000] [1 7 128 128]
}
