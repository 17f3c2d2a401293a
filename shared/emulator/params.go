package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// The error codes the emulator answers with.
const (
	CodeActionOffline        = "ActionOffline"
	CodeInvalidAuthorization = "AuthFailure.InvalidAuthorization"
	CodeSecretIDNotFound     = "AuthFailure.SecretIdNotFound"
	CodeSignatureExpire      = "AuthFailure.SignatureExpire"
	CodeSignatureFailure     = "AuthFailure.SignatureFailure"
	CodeTokenFailure         = "AuthFailure.TokenFailure"
	CodeUnauthorized         = "AuthFailure.UnauthorizedOperation"
	CodeFailedOperation      = "FailedOperation"
	CodeSDKAppIDNotExist     = "FailedOperation.SdkAppIdNotExist"
	CodeInternalError        = "InternalError"
	CodeInvalidAction        = "InvalidAction"
	CodeInvalidParameter     = "InvalidParameter"
	CodeInvalidLimit         = "InvalidParameter.Limit"
	CodeInvalidSDKAppID      = "InvalidParameter.SdkAppId"
	CodeInstanceNotExist     = "InvalidParameterValue.InstanceNotExist"
	CodeInvalidQuotaType     = "InvalidParameterValue.InvalidQuotaType"
	CodeInvalidTime          = "InvalidParameterValue.InvalidTime"
	CodeMissingParameter     = "MissingParameter"
	CodeNoSuchVersion        = "NoSuchVersion"
	CodeFreqOverLimit        = "OperationDenied.FreqOverLimit"
	CodeRequestLimitExceeded = "RequestLimitExceeded"
	CodeRequestSizeLimit     = "RequestSizeLimitExceeded"
	CodeNotExistApplication  = "ResourceNotFound.NotExistApplication"
	CodeUnknownParameter     = "UnknownParameter"
	CodeUnsupportedProtocol  = "UnsupportedProtocol"
	CodeUnsupportedRegion    = "UnsupportedRegion"
)

// apiError is an error answer: {"Response":{"Error":{"Code","Message"},"RequestId"}}.
type apiError struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// kind is the JSON type of a request field.
type kind int

const (
	kString  kind = iota + 1
	kInt          // integer that fits int64
	kUint         // non-negative integer
	kIntList      // array of integers
	kObject       // nested object, described by sub
)

func (k kind) String() string {
	return map[kind]string{kString: "a string", kInt: "an integer", kUint: "a non-negative integer", kIntList: "an array of integers", kObject: "an object"}[k]
}

// field describes one request parameter.
type field struct {
	kind     kind
	required bool
	sub      schema
}

// schema is an action's request model: every field the product SDK declares (deprecated ones too,
// as the SDK may send them), so anything else is UnknownParameter.
type schema map[string]field

var (
	telCallSchema = schema{
		"StartTimeStamp": {kind: kInt, required: true},
		"EndTimeStamp":   {kind: kInt, required: true},
		"SdkAppIdList":   {kind: kIntList, required: true},
	}
	trtcDatesSchema = schema{
		"StartTime": {kind: kString, required: true},
		"EndTime":   {kind: kString, required: true},
		"SdkAppId":  {kind: kUint},
	}
	roomUsageSchema = schema{
		"SdkAppid":  {kind: kUint, required: true},
		"StartTime": {kind: kString, required: true},
		"EndTime":   {kind: kString, required: true},
	}
	userInfoSchema = schema{
		"OpenId": {kind: kString}, "Channel": {kind: kString}, "CustomUserId": {kind: kString},
		"ClientIp": {kind: kString}, "ProxyIp": {kind: kString},
	}
	billUsageSchema = schema{
		"Agent": {kind: kObject, required: true, sub: schema{
			"AppId":                   {kind: kString, required: true},
			"ProxyOrganizationOpenId": {kind: kString},
			"ProxyOperator":           {kind: kObject, sub: userInfoSchema},
			"ProxyAppId":              {kind: kString},
			"ProxyOrganizationId":     {kind: kString},
		}},
		"StartTime": {kind: kString, required: true},
		"EndTime":   {kind: kString, required: true},
		"QuotaType": {kind: kString},
		"Offset":    {kind: kInt},
		"Limit":     {kind: kInt},
	}
)

// parseParams decodes the body as a JSON object and checks it against s: UnknownParameter for a
// field outside the model, InvalidParameter for a wrong JSON type, MissingParameter for an absent
// required field (null counts as absent). It returns the object with numbers as json.Number.
func parseParams(body []byte, s schema) (map[string]any, *apiError) {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errorf(CodeInvalidParameter, "The request body is not valid JSON: %v.", err)
	}
	if dec.More() {
		return nil, errorf(CodeInvalidParameter, "The request body has data after the JSON object.")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errorf(CodeInvalidParameter, "The request body must be a JSON object.")
	}
	if e := checkObject(obj, s, ""); e != nil {
		return nil, e
	}
	return obj, nil
}

func checkObject(obj map[string]any, s schema, prefix string) *apiError {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, ok := s[k]; !ok {
			return errorf(CodeUnknownParameter, "The parameter `%s%s` is not recognized.", prefix, k)
		}
	}
	names := make([]string, 0, len(s))
	for k := range s {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		f := s[name]
		path := prefix + name
		v, present := obj[name]
		if !present || v == nil {
			if f.required {
				return errorf(CodeMissingParameter, "The request is missing a required parameter `%s`.", path)
			}
			continue
		}
		if !hasKind(v, f.kind) {
			return errorf(CodeInvalidParameter, "The value of parameter `%s` must be %s.", path, f.kind)
		}
		if f.kind == kObject {
			if e := checkObject(v.(map[string]any), f.sub, path+"."); e != nil {
				return e
			}
		}
	}
	return nil
}

func hasKind(v any, k kind) bool {
	switch k {
	case kString:
		_, ok := v.(string)
		return ok
	case kInt:
		return isInt(v, false)
	case kUint:
		return isInt(v, true)
	case kIntList:
		list, ok := v.([]any)
		if !ok {
			return false
		}
		for _, x := range list {
			if !isInt(x, false) {
				return false
			}
		}
		return true
	case kObject:
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

func isInt(v any, unsigned bool) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	if unsigned {
		_, err := strconv.ParseUint(n.String(), 10, 64)
		return err == nil
	}
	_, err := strconv.ParseInt(n.String(), 10, 64)
	return err == nil
}

// decodeInto converts a checked parameter object into a typed request.
func decodeInto(obj map[string]any, out any) *apiError {
	b, err := json.Marshal(obj)
	if err == nil {
		err = json.Unmarshal(b, out)
	}
	if err != nil {
		return errorf(CodeInvalidParameter, "The request parameters are invalid: %v.", err)
	}
	return nil
}
