package cuda

import (
	"testing"

	"github.com/mbpogo/mbpo/trainer/engine/enginetest"
)

func TestHostEnsembleSaveRestoreMembers(t *testing.T) { enginetest.SaveRestore(t, onHost(t)) }

func TestGPUEnsembleSaveRestoreMembers(t *testing.T) { enginetest.SaveRestore(t, onGPU(t)) }
