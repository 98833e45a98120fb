// terminal_ptx_test.go: the termination rules' arithmetic in the committed
// PTX is rounded step by step, as Go rounds it on amd64: no fused
// multiply-add, and no multiply, add or subtract that ptxas may still fuse.
//
// The rules (terminal.h) compare in double precision, so in PTX a rule is
// the f64 work between the conversion of the float32 next observation
// (cvt.f64.f32) and an f64 comparison (setp.*.f64). The rules are inlined
// into the kernels that use them, so the check walks back from every f64
// comparison of each function that holds Hopper's threshold, through the
// f64 registers, to those conversions. clang's CUDA default
// (-ffp-contract=fast) fused the double pendulum's tip height into
// fma.rn.f64 and left plain mul.f64, which ptxas may fuse; build.sh passes
// -ffp-contract=on so that terminal.h's `#pragma clang fp contract(off)`
// holds and the products come out as mul.rn.f64.

package kernels

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// ptxInstr is one instruction of a PTX function body.
type ptxInstr struct {
	line     int // 1-based line in the PTX file
	op       string
	operands []string
	text     string
}

// ptxFunction is an entry or a device function (.func) of a PTX module.
type ptxFunction struct {
	name   string
	instrs []ptxInstr
}

var ptxFuncHead = regexp.MustCompile(`^(?:\.(?:visible|weak|extern)\s+)*\.(?:entry|func)\s+(?:\([^)]*\)\s*)?([A-Za-z_$][\w$]*)`)

// parsePTX cuts a PTX module into its functions' instructions (labels,
// comments, directives and predicates dropped).
func parsePTX(src string) ([]ptxFunction, error) {
	var funcs []ptxFunction
	var cur *ptxFunction
	inBody := false
	for i, raw := range strings.Split(src, "\n") {
		line := strings.TrimSpace(raw)
		if c := strings.Index(line, "//"); c >= 0 {
			line = strings.TrimSpace(line[:c])
		}
		switch {
		case line == "":
			continue
		case cur == nil:
			if m := ptxFuncHead.FindStringSubmatch(line); m != nil {
				funcs = append(funcs, ptxFunction{name: m[1]})
				cur = &funcs[len(funcs)-1]
				if strings.HasSuffix(line, ";") { // a declaration
					funcs, cur = funcs[:len(funcs)-1], nil
				}
			}
			continue
		case !inBody:
			if line == "{" {
				inBody = true
			} else if strings.HasSuffix(line, ";") { // the end of a declaration
				funcs, cur = funcs[:len(funcs)-1], nil
			}
			continue
		case line == "}" && raw == "}":
			cur, inBody = nil, false
			continue
		case line == "{" || line == "}" || strings.HasPrefix(line, ".") || strings.HasSuffix(line, ":"):
			continue
		}
		if strings.HasPrefix(line, "@") { // a predicate guard
			j := strings.IndexAny(line, " \t")
			if j < 0 {
				return nil, fmt.Errorf("line %d: a predicate guarding nothing: %q", i+1, raw)
			}
			line = strings.TrimSpace(line[j:])
		}
		line = strings.TrimSuffix(line, ";")
		op, rest := line, ""
		if j := strings.IndexAny(line, " \t"); j >= 0 {
			op, rest = line[:j], line[j:]
		}
		var operands []string
		for _, o := range strings.Split(rest, ",") {
			if o = strings.TrimSpace(o); o != "" {
				operands = append(operands, o)
			}
		}
		cur.instrs = append(cur.instrs, ptxInstr{line: i + 1, op: op, operands: operands, text: strings.TrimSpace(raw)})
	}
	if cur != nil {
		return nil, fmt.Errorf("function %s has no end", cur.name)
	}
	return funcs, nil
}

var f64Reg = regexp.MustCompile(`%fd\d+`)

// ruleArithmetic returns the instructions of f that compute the f64 values
// its f64 comparisons compare: the backward slice through f64 registers,
// every definition of a register counted (PTX registers are not in SSA
// form), the comparisons themselves excluded.
func ruleArithmetic(f ptxFunction) []ptxInstr {
	defs := map[string][]int{}
	for i, in := range f.instrs {
		if len(in.operands) > 0 && f64Reg.MatchString(in.operands[0]) && f64Reg.FindString(in.operands[0]) == in.operands[0] {
			defs[in.operands[0]] = append(defs[in.operands[0]], i)
		}
	}
	var work []string
	for _, in := range f.instrs {
		if strings.HasPrefix(in.op, "setp.") && strings.HasSuffix(in.op, ".f64") {
			for _, o := range in.operands[1:] {
				work = append(work, f64Reg.FindAllString(o, -1)...)
			}
		}
	}
	seenReg, seenInstr := map[string]bool{}, map[int]bool{}
	for len(work) > 0 {
		r := work[len(work)-1]
		work = work[:len(work)-1]
		if seenReg[r] {
			continue
		}
		seenReg[r] = true
		for _, i := range defs[r] {
			if seenInstr[i] {
				continue
			}
			seenInstr[i] = true
			for _, o := range f.instrs[i].operands[1:] {
				work = append(work, f64Reg.FindAllString(o, -1)...)
			}
		}
	}
	idx := make([]int, 0, len(seenInstr))
	for i := range seenInstr {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	out := make([]ptxInstr, len(idx))
	for j, i := range idx {
		out[j] = f.instrs[i]
	}
	return out
}

// unroundedOp says why instruction in may not be rounded as Go rounds, or "".
// An fma or mad fuses a product into a sum; a mul, add or sub without a
// rounding modifier may be fused by ptxas (the PTX ISA lets the code
// generator turn such a mul/add sequence into an fma).
func unroundedOp(in ptxInstr) string {
	parts := strings.Split(in.op, ".")
	switch parts[0] {
	case "fma", "mad":
		return "a fused multiply-add"
	case "mul", "add", "sub":
		for _, p := range parts[1:] {
			switch p {
			case "rn", "rz", "rm", "rp":
				return ""
			}
		}
		return "no rounding modifier, which lets ptxas fuse it into a multiply-add"
	}
	return ""
}

// hopperZ is Hopper's height threshold 0.7 as PTX writes an f64 immediate:
// a function that compares with it holds the inlined rules.
const hopperZ = "0d3FE6666666666666"

// ruleFunctions are the functions of a module that hold the termination
// rules.
func ruleFunctions(funcs []ptxFunction) []ptxFunction {
	var out []ptxFunction
	for _, f := range funcs {
		for _, in := range f.instrs {
			if strings.HasPrefix(in.op, "setp.") && strings.HasSuffix(in.op, ".f64") && len(in.operands) == 3 && in.operands[2] == hopperZ {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// checkRulesRounded reports every fused or fusable instruction in the
// termination rules of a PTX module, and how many f64 multiplies the rules
// hold (the double pendulum's tip height has four).
func checkRulesRounded(src string) (names []string, multiplies int, problems []string, err error) {
	funcs, err := parsePTX(src)
	if err != nil {
		return nil, 0, nil, err
	}
	for _, f := range ruleFunctions(funcs) {
		names = append(names, f.name)
		for _, in := range ruleArithmetic(f) {
			if strings.HasPrefix(in.op, "mul.") || strings.HasPrefix(in.op, "fma.") || strings.HasPrefix(in.op, "mad.") {
				multiplies++
			}
			if why := unroundedOp(in); why != "" {
				problems = append(problems, fmt.Sprintf("%s, line %d: %q: %s", f.name, in.line, in.text, why))
			}
		}
	}
	return names, multiplies, problems, nil
}

func TestTerminalPTXHasNoFMA(t *testing.T) {
	src, err := PTX("rollout")
	if err != nil {
		t.Fatal(err)
	}
	names, multiplies, problems, err := checkRulesRounded(src)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rollout.ptx: the termination rules are inlined into %v, with %d f64 multiplies", names, multiplies)
	for _, want := range []string{"mbpo_model_sample", "mbpo_terminal_rows"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("found no termination rules in %s (functions with rules: %v)", want, names)
		}
	}
	if multiplies < 4*len(names) {
		t.Errorf("%d f64 multiplies in the rules of %d functions: the double pendulum's tip height was not found", multiplies, len(names))
	}
	for _, p := range problems {
		t.Errorf("termination rule arithmetic not rounded as in Go: %s (build with -ffp-contract=on: make kernels)", p)
	}
	// No other module compares against the rules' thresholds.
	for _, m := range Modules() {
		if m == "rollout" {
			continue
		}
		src, err := PTX(m)
		if err != nil {
			t.Fatal(err)
		}
		if names, _, _, err := checkRulesRounded(src); err != nil || len(names) != 0 {
			t.Errorf("module %s: rules in %v (%v); this test checks only rollout's", m, names, err)
		}
	}
}

// The old tip height (clang's -ffp-contract=fast), the new one, and an fma
// that feeds no comparison.
const (
	ptxHead = `.visible .entry k(
	.param .u64 k_param_0
)
{
	.reg .pred 	%p<3>;
	.reg .f32 	%f<5>;
	.reg .f64 	%fd<12>;

	ld.global.f32 	%f1, [%rd1+4];
	cvt.f64.f32 	%fd1, %f1;
	ld.global.f32 	%f2, [%rd1+8];
	cvt.f64.f32 	%fd2, %f2;
	cvt.f64.f32 	%fd3, %f3;
	cvt.f64.f32 	%fd4, %f4;
	setp.leu.f64 	%p1, %fd3, 0d3FE6666666666666;
`
	ptxFused = `	mul.f64 	%fd5, %fd1, %fd2;
	neg.f64 	%fd6, %fd5;
	fma.rn.f64 	%fd7, %fd3, %fd4, %fd6;
	mul.f64 	%fd8, %fd7, 0d3FE3333333333333;
	fma.rn.f64 	%fd9, %fd3, 0d3FE3333333333333, %fd8;
LBB0_2:
	@%p1 setp.le.f64 	%p2, %fd9, 0d3FF0000000000000;
`
	ptxRounded = `	mul.rn.f64 	%fd5, %fd3, 0d3FE3333333333333;
	mul.rn.f64 	%fd6, %fd3, %fd4;
	mul.rn.f64 	%fd7, %fd1, %fd2;
	sub.rn.f64 	%fd8, %fd6, %fd7;
	mul.rn.f64 	%fd9, %fd8, 0d3FE3333333333333;
	add.rn.f64 	%fd10, %fd5, %fd9;
	setp.le.f64 	%p2, %fd10, 0d3FF0000000000000;
	fma.rn.f64 	%fd11, %fd1, %fd1, %fd2; // feeds no comparison
	st.global.f64 	[%rd2], %fd11;
`
	ptxTail = `	ret;

}
`
)

func TestCheckRulesRounded(t *testing.T) {
	for _, c := range []struct {
		name, src  string
		funcs      int
		multiplies int
		problems   []string // lines named
	}{
		{"fused", ptxHead + ptxFused + ptxTail, 1, 4, []string{"line 16", "line 18", "line 19", "line 20"}},
		{"rounded", ptxHead + ptxRounded + ptxTail, 1, 4, nil},
		{"no rules", strings.ReplaceAll(ptxHead+ptxFused+ptxTail, "0d3FE6666666666666", "0d3FE0000000000000"), 0, 0, nil},
		{"two functions", ptxHead + ptxFused + ptxTail + "\n" + strings.Replace(ptxHead, "entry k(", "func kk(", 1) + ptxRounded + ptxTail, 2, 8, []string{"line 16", "line 18", "line 19", "line 20"}},
		{"declaration", ".extern .func (.param .b32 r) decl\n(\n\t.param .b32 a\n);\n" + ptxHead + ptxRounded + ptxTail, 1, 4, nil},
	} {
		names, multiplies, problems, err := checkRulesRounded(c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(names) != c.funcs || multiplies != c.multiplies || len(problems) != len(c.problems) {
			t.Errorf("%s: functions %v, %d multiplies, problems %q; want %d functions, %d multiplies, problems at %v",
				c.name, names, multiplies, problems, c.funcs, c.multiplies, c.problems)
			continue
		}
		for i, p := range problems {
			if !strings.Contains(p, c.problems[i]+":") {
				t.Errorf("%s: problem %q, want one at %s", c.name, p, c.problems[i])
			}
		}
	}
	if _, _, _, err := checkRulesRounded(ptxHead); err == nil {
		t.Error("a function without its end parsed")
	}
}
