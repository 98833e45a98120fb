// analyze.go: the paper's analyses of a saved run. Compounding error: the
// saved ensemble's open-loop prediction error against rollout horizon on
// fresh real trajectories of the saved policy. Exploitation: the policy's
// return under the model against its real return over training. Also a
// light look at a checkpoint's progress for sweeps.

package trainer

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// CheckpointEnvSteps returns the env steps of the checkpoint in runDir,
// reading only its header (not the buffers, nor the checksum: Resume
// verifies those).
func CheckpointEnvSteps(runDir string) (int, error) {
	path := filepath.Join(runDir, CheckpointFile)
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	br := bufio.NewReader(f)
	magic := make([]byte, len(checkpointMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != checkpointMagic {
		return 0, fmt.Errorf("%s is not an mbpo checkpoint (bad magic): delete it to start the run again", path)
	}
	var version uint32
	var hlen uint64
	binary.Read(br, binary.LittleEndian, &version)
	if version != checkpointVersion {
		return 0, fmt.Errorf("%s has checkpoint version %d; this mbpo reads version %d", path, version, checkpointVersion)
	}
	if err := binary.Read(br, binary.LittleEndian, &hlen); err != nil || hlen > uint64(st.Size()) {
		return 0, fmt.Errorf("%s is corrupt or truncated: header length %d", path, hlen)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return 0, fmt.Errorf("%s is corrupt or truncated: header: %v", path, err)
	}
	var h struct {
		EnvSteps int `json:"env_steps"`
	}
	if err := json.Unmarshal(hdr, &h); err != nil {
		return 0, fmt.Errorf("%s is corrupt or truncated: header: %v", path, err)
	}
	return h.EnvSteps, nil
}
