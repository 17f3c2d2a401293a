package emulator

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"

	"github.com/tcusage/tcusage/shared/tcapi"
)

// A key whose CAM policy lacks an action is refused for that action alone.
func TestDeniedActionsAnswerUnauthorizedOperation(t *testing.T) {
	s := newTestServer(t, Config{Rooms: 5, Credentials: []Credential{
		{SecretID: TestSecretID, SecretKey: TestSecretKey, Denied: []string{"DescribeTrtcUsage"}},
		{SecretID: "AKIDotherRole", SecretKey: "other-role-key"},
	}})
	code := func(a tcapi.Action, cred common.CredentialIface) string {
		_, err := send(t, sdkClient(t, s, a.Region, cred, nil), a, validParams(a))
		return codeOf(err)
	}
	assert.Equal(t, CodeUnauthorized, code(tcapi.DescribeTrtcUsage, testCred()))
	assert.Equal(t, "", code(tcapi.DescribeTrtcInteractiveTime, testCred()), "other actions are allowed")
	assert.Equal(t, "", code(tcapi.DescribeTrtcUsage, common.NewCredential("AKIDotherRole", "other-role-key")), "another key's policy allows it")
}
