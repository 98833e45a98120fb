package cuda

import (
	"testing"

	"github.com/mbpogo/mbpo/engine/enginetest"
)

func TestHostEnsembleSaveRestoreMembers(t *testing.T) { enginetest.SaveRestore(t, onHost(t)) }

func TestGPUEnsembleSaveRestoreMembers(t *testing.T) { enginetest.SaveRestore(t, onGPU(t)) }
