// plan.go: the launch geometry of the ensemble forward kernel, shared by the
// device launcher and the host build so that both run the same blocks.

package kernels

import (
	"encoding/binary"
	"fmt"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/gpu"
)

// Tile sizes and limits of mlp.h.
const (
	maxLayers      = 8   // MBPO_MAX_LAYERS
	tileRows       = 8   // MBPO_TM
	tileCols       = 8   // MBPO_TN
	rowPad         = 4   // MBPO_ROW_PAD
	forwardThreads = 256 // the kernel's launch bounds: most threads per block
	maxRowTiles    = 16  // at most 128 rows per block, so small nets still fill the GPU
)

// ForwardPlan is how the ensemble forward kernel covers a spec: each block of
// Threads threads runs Rows rows of one member through every layer, keeping
// the activations in SharedBytes of shared memory.
type ForwardPlan struct {
	Spec        engine.EnsembleSpec
	Rows        int  // rows per block, a multiple of 8
	Threads     int  // threads per block
	SharedBytes int  // dynamic shared memory per block
	ReLU        bool // hidden layers are ReLU (the SAC networks), not swish
	RawHead     bool // the head's 2·Out units are written out unchanged, not as mean and logvar
}

// PlanPolicy plans the forward of spec's policy network as a one-member
// "ensemble" of [Obs, Hidden..., 2·Act] with ReLU hidden layers whose raw
// head (means then log σ) is written out: engine.MLP's layout is the
// one-member ensemble layout.
func PlanPolicy(spec engine.AgentSpec) (ForwardPlan, error) {
	es := engine.EnsembleSpec{Members: 1, In: spec.Obs, Out: spec.Act, Hidden: spec.Hidden,
		WeightDecay: make([]float32, len(spec.Hidden)+1), LR: 1}
	p, err := PlanForward(es)
	p.ReLU, p.RawHead = true, true
	return p, err
}

// PlanForward chooses the blocks for spec: as many rows per block (up to 128)
// as keep one 8x8 output tile per thread, at most 256 threads, in the widest
// layer.
func PlanForward(spec engine.EnsembleSpec) (ForwardPlan, error) {
	if err := spec.Validate(); err != nil {
		return ForwardPlan{}, fmt.Errorf("kernels: %w", err)
	}
	sizes := spec.Net().Sizes
	if len(sizes)-1 > maxLayers {
		return ForwardPlan{}, fmt.Errorf("kernels: %d weight layers, the forward kernel handles at most %d", len(sizes)-1, maxLayers)
	}
	groups, widest := 0, 0
	for l := 1; l < len(sizes); l++ {
		groups = max(groups, (sizes[l]+tileCols-1)/tileCols)
	}
	for l := 0; l < len(sizes)-1; l++ {
		widest = max(widest, sizes[l])
	}
	rowTiles := min(forwardThreads/groups, maxRowTiles)
	if rowTiles < 1 {
		return ForwardPlan{}, fmt.Errorf("kernels: a layer of %d units is wider than the forward kernel's %d", groups*tileCols, forwardThreads*tileCols)
	}
	rows := rowTiles * tileRows
	return ForwardPlan{
		Spec:        spec,
		Rows:        rows,
		Threads:     (groups*rowTiles + 31) / 32 * 32,
		SharedBytes: 4 * widest * (rows + rowPad),
	}, nil
}

// Grid is the grid for n rows: row blocks by members.
func (p ForwardPlan) Grid(n int) gpu.Dim3 {
	return gpu.Dim3{X: (n + p.Rows - 1) / p.Rows, Y: p.Spec.Members}
}

// FLOPs is the floating-point work of a forward pass over n rows (the matrix
// products, 2 per multiply-add, all members).
func (p ForwardPlan) FLOPs(n int) float64 {
	return float64(n) * float64(p.Spec.Members) * float64(p.Spec.Net().FLOPs())
}

// net is mlp.h's mbpo_net for the plan, as the kernel reads it: 16 int32s.
func (p ForwardPlan) net() []int32 {
	sizes := p.Spec.Net().Sizes
	act, head := int32(0), int32(0) // MBPO_ACT_SWISH, MBPO_HEAD_GAUSS
	if p.ReLU {
		act = 1
	}
	if p.RawHead {
		head = 1
	}
	v := []int32{int32(p.Spec.Members), int32(len(sizes) - 1), int32(p.Spec.In), int32(p.Spec.Out), int32(p.Rows), act, head}
	for l := 0; l <= maxLayers; l++ {
		s := int32(0)
		if l < len(sizes) {
			s = int32(sizes[l])
		}
		v = append(v, s)
	}
	return v
}

// netBytes is net as the bytes of a kernel argument.
func (p ForwardPlan) netBytes() []byte {
	var b []byte
	for _, v := range p.net() {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b
}
