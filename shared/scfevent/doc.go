// Package scfevent holds the trigger events a tcusage function receives on
// Tencent Cloud SCF, and the HTTP response it returns to an HTTP trigger.
//
// Three event shapes reach a function:
//
//   - [Timer]: {"Type":"Timer","TriggerName":...,"Time":...,"Message":...}
//     from a timer trigger. Message carries the trigger's "argument".
//   - [APIGatewayRequest]: the integration request of an API Gateway trigger.
//     The gateway is loose with JSON types: a queryString value may be a string,
//     an array (a repeated key) or true (a bare key), and a header value may be
//     an array when the header is repeated. [Values] absorbs those quirks.
//   - [FunctionURLRequest]: the event of a Function URL, which keeps the
//     gateway's top-level keys but drops requestContext, headerParameters,
//     pathParameters, queryStringParameters and isBase64Encoded.
//
// [Event] decodes any of the three and tells them apart (see
// [Event.UnmarshalJSON] for the rules). An HTTP event is also offered as a
// normalised [HTTPRequest] (canonical header names, url.Values query, decoded
// body), so a handler need not care which HTTP trigger sent it.
//
// The types are written for this project from the public descriptions of the
// events; the official scf-go-lib is not used.
//
// Sizes: a synchronous SCF event is limited to 6 MB, so [Event] refuses
// input over [MaxEventBytes] and HTTP bodies over [MaxBodyBytes]; both
// errors wrap [ErrTooLarge].
package scfevent
