// pool.go steps N environments of one kind on W goroutines, with batched
// observations and actions and automatic resets.

package env

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/mbpogo/mbpo/env/mujoco"
	"github.com/mbpogo/mbpo/rng"
)

// PoolConfig configures a Pool.
type PoolConfig struct {
	Workers int         // goroutines stepping the environments; 0 = runtime.NumCPU(), at most N
	Seed    uint64      // run seed of the reset noise
	Purpose rng.Purpose // purpose of the reset noise; 0 = rng.EnvReset (use rng.Eval for evaluation pools)
}

// Pool steps N environments of one kind on several goroutines. Environment i
// draws its reset noise from rng.Key{Seed, Purpose, Step: i}, and environments
// never share state, so the results do not depend on the number of workers.
//
// Observations and actions are contiguous row-major [N × dim] float32 slices.
// When an episode ends (terminated or truncated), Step keeps its final
// observation in NextObs, its return and length in EpisodeReturns and
// EpisodeLengths, and resets the environment, whose first observation is then
// in Obs. The slices a Pool returns are its own: they stay the same slices
// for the Pool's life and are overwritten by the next Step or Reset.
//
// A Pool is not safe for concurrent use by several goroutines.
type Pool struct {
	spec    Spec
	model   *mujoco.Model
	envs    []*Env
	workers []poolWorker

	obs, next   []float32
	rewards     []float32
	terminated  []bool
	truncated   []bool
	nonFinite   []bool
	returns     []float64 // running return of each episode
	lengths     []int     // running length of each episode
	finalReturn []float64
	finalLength []int

	actions []float32    // the actions of the Step in progress, read by the workers
	op      poolOp       // the operation in progress, read by the workers
	cursor  atomic.Int64 // the next environment a worker takes
	wg      sync.WaitGroup
	started bool // Reset has been called
	closed  bool
}

// poolWorker is one goroutine stepping environments. Worker 0 is the
// caller's goroutine; the others wait on start. Workers take environments one
// at a time from a shared cursor, so that a worker whose environments are
// cheap this step (no contacts) takes more of them; which worker steps an
// environment never changes its results.
type poolWorker struct {
	start chan struct{}
	err   error
}

type poolOp int

const (
	opStep poolOp = iota
	opReset
)

// NewPool builds n environments id sharing one compiled model. Call Reset
// before the first Step, and Close when done.
func NewPool(id string, n int, cfg PoolConfig) (*Pool, error) {
	if n < 1 {
		return nil, fmt.Errorf("env: pool of %d environments: want at least 1", n)
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("env: pool with %d workers: want 0 (one per CPU) or more", cfg.Workers)
	}
	t, err := findTask(id)
	if err != nil {
		return nil, err
	}
	m, err := loadModel(t.model)
	if err != nil {
		return nil, err
	}
	p := &Pool{spec: t.spec(m), model: m}
	if cfg.Purpose == 0 {
		cfg.Purpose = rng.EnvReset
	}
	for i := range n {
		e, err := newEnv(t, m)
		if err != nil {
			return nil, errors.Join(err, p.Close())
		}
		e.Seed(rng.Key{Seed: cfg.Seed, Purpose: cfg.Purpose, Step: uint64(i)})
		p.envs = append(p.envs, e)
	}
	od := p.spec.ObsDim
	p.obs, p.next = make([]float32, n*od), make([]float32, n*od)
	p.rewards = make([]float32, n)
	p.terminated, p.truncated, p.nonFinite = make([]bool, n), make([]bool, n), make([]bool, n)
	p.returns, p.finalReturn = make([]float64, n), make([]float64, n)
	p.lengths, p.finalLength = make([]int, n), make([]int, n)

	w := cfg.Workers
	if w == 0 {
		w = runtime.NumCPU()
	}
	w = min(w, n)
	p.workers = make([]poolWorker, w)
	for k := 1; k < w; k++ {
		pw := &p.workers[k]
		pw.start = make(chan struct{})
		go p.serve(pw)
	}
	return p, nil
}

// serve runs one worker's share of each operation until Close.
func (p *Pool) serve(w *poolWorker) {
	for range w.start {
		p.work(w)
		p.wg.Done()
	}
}

// run performs op on every environment, in parallel, and returns the first
// error of a worker.
func (p *Pool) run(op poolOp) error {
	p.op = op
	p.cursor.Store(0)
	p.wg.Add(len(p.workers) - 1)
	for k := 1; k < len(p.workers); k++ {
		p.workers[k].start <- struct{}{}
	}
	p.work(&p.workers[0])
	p.wg.Wait()
	for k := range p.workers {
		if err := p.workers[k].err; err != nil {
			return err
		}
	}
	return nil
}

// work performs the current operation on environments taken from the
// cursor until none is left.
func (p *Pool) work(w *poolWorker) {
	w.err = nil
	od, ad, n := p.spec.ObsDim, p.spec.ActDim, len(p.envs)
	for {
		i := int(p.cursor.Add(1) - 1)
		if i >= n {
			return
		}
		obs := p.obs[i*od : (i+1)*od]
		if p.op == opReset {
			p.envs[i].Reset(obs)
			p.returns[i], p.lengths[i] = 0, 0
			p.rewards[i] = 0
			p.terminated[i], p.truncated[i], p.nonFinite[i] = false, false, false
			continue
		}
		next := p.next[i*od : (i+1)*od]
		st, err := p.envs[i].Step(p.actions[i*ad:(i+1)*ad], next)
		if err != nil {
			w.err = fmt.Errorf("env %d: %w", i, err)
			continue
		}
		p.rewards[i] = float32(st.Reward)
		p.terminated[i], p.truncated[i], p.nonFinite[i] = st.Terminated, st.Truncated, st.Info.NonFinite
		p.returns[i] += st.Reward
		p.lengths[i]++
		if st.Terminated || st.Truncated {
			p.finalReturn[i], p.finalLength[i] = p.returns[i], p.lengths[i]
			p.returns[i], p.lengths[i] = 0, 0
			p.envs[i].Reset(obs)
			continue
		}
		copy(obs, next)
	}
}

// Spec describes the pool's environments.
func (p *Pool) Spec() Spec { return p.spec }

// N is the number of environments.
func (p *Pool) N() int { return len(p.envs) }

// Workers is the number of goroutines that step the environments (the
// caller's included).
func (p *Pool) Workers() int { return len(p.workers) }

// Reset starts a new episode in every environment; Obs then holds the first
// observations. Episode statistics restart from zero.
func (p *Pool) Reset() {
	if p.closed {
		panic("env: Pool used after Close")
	}
	_ = p.run(opReset) // a reset cannot fail
	p.started = true
}

// Step applies actions ([N × ActDim]) to every environment. It checks every
// action before stepping any: a wrong length or a NaN or Inf anywhere is an
// error and no environment moves. Environments whose episode ended are reset
// (see Pool).
func (p *Pool) Step(actions []float32) error {
	if p.closed {
		return errors.New("env: Pool used after Close")
	}
	if !p.started {
		return fmt.Errorf("env: pool of %s: %w", p.spec.ID, ErrEpisodeOver)
	}
	ad := p.spec.ActDim
	if len(actions) != len(p.envs)*ad {
		return fmt.Errorf("env: pool of %d %s: %d action values, want %d × %d = %d",
			len(p.envs), p.spec.ID, len(actions), len(p.envs), ad, len(p.envs)*ad)
	}
	for i := range p.envs {
		if err := p.envs[i].checkAction(actions[i*ad : (i+1)*ad]); err != nil {
			return fmt.Errorf("env %d of the pool: %w", i, err)
		}
	}
	p.actions = actions
	err := p.run(opStep)
	p.actions = nil
	return err
}

// Obs is the observation each environment will act on next, [N × ObsDim]:
// after a finished episode, the first observation of the new one.
func (p *Pool) Obs() []float32 { return p.obs }

// NextObs is the observation each environment reached at the last Step,
// [N × ObsDim]: where an episode ended, its final observation.
func (p *Pool) NextObs() []float32 { return p.next }

// Rewards is the reward of each environment at the last Step.
func (p *Pool) Rewards() []float32 { return p.rewards }

// Terminated reports the environments whose episode reached a terminal state
// at the last Step (their value must not be bootstrapped).
func (p *Pool) Terminated() []bool { return p.terminated }

// Truncated reports the environments whose episode hit MaxEpisodeSteps at the
// last Step (their value must be bootstrapped unless Terminated too).
func (p *Pool) Truncated() []bool { return p.truncated }

// NonFinite reports the environments whose simulator state became non-finite
// at the last Step (also Terminated): skip those transitions.
func (p *Pool) NonFinite() []bool { return p.nonFinite }

// EpisodeReturns is, where Terminated or Truncated, the undiscounted return of
// the episode that ended at the last Step; elsewhere the value is stale.
func (p *Pool) EpisodeReturns() []float64 { return p.finalReturn }

// EpisodeLengths is, where Terminated or Truncated, the length in steps of the
// episode that ended at the last Step; elsewhere the value is stale.
func (p *Pool) EpisodeLengths() []int { return p.finalLength }

// Close stops the workers and frees the environments.
func (p *Pool) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	for k := 1; k < len(p.workers); k++ {
		close(p.workers[k].start)
	}
	var err error
	for _, e := range p.envs {
		err = errors.Join(err, e.Close())
	}
	return errors.Join(err, p.model.Close())
}
