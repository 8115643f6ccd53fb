//! `metav1.Status` documents of the exec protocol, serialized in Go's field order as kubelet
//! writes them on the error channel (pkg/kubelet/cri/streaming/remotecommand).

use serde::Serialize;

#[derive(Serialize, Default)]
struct Empty {}

#[derive(Serialize)]
struct Cause {
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    message: String,
}

#[derive(Serialize)]
struct Details {
    causes: Vec<Cause>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Status {
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_version: Option<&'static str>,
    metadata: Empty,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Details>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<u16>,
}

fn encode(s: &Status) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| String::from("{}"))
}

/// `{"metadata":{},"status":"Success"}`.
pub fn success() -> String {
    encode(&Status {
        status: "Success",
        ..Status::default()
    })
}

/// The `NonZeroExitCode` status for `argv` exiting with `code`.
pub fn exit_code(argv: &[String], code: i32) -> String {
    encode(&Status {
        status: "Failure",
        message: Some(format!(
            "command terminated with non-zero exit code: error executing command [{}], exit code {code}",
            argv.join(" ")
        )),
        reason: Some("NonZeroExitCode"),
        details: Some(Details {
            causes: vec![Cause {
                reason: Some("ExitCode"),
                message: code.to_string(),
            }],
        }),
        ..Status::default()
    })
}

/// The `InternalError` status kubelet sends when the runtime cannot start the command
/// (`error` is the runtime's message).
pub fn internal_error(error: &str) -> String {
    encode(&Status {
        status: "Failure",
        message: Some(format!("Internal error occurred: {error}")),
        reason: Some("InternalError"),
        details: Some(Details {
            causes: vec![Cause {
                reason: None,
                message: error.to_string(),
            }],
        }),
        code: Some(500),
        ..Status::default()
    })
}

/// A `BadRequest` Status object as an HTTP response body.
pub fn bad_request(message: &str) -> String {
    encode(&Status {
        kind: Some("Status"),
        api_version: Some("v1"),
        status: "Failure",
        message: Some(message.to_string()),
        reason: Some("BadRequest"),
        code: Some(400),
        ..Status::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents() {
        assert_eq!(success(), r#"{"metadata":{},"status":"Success"}"#);
        let argv = ["sh", "-c", "exit 3"].map(String::from);
        assert_eq!(
            exit_code(&argv, 3),
            r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#
        );
        assert_eq!(
            bad_request("x"),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"x","reason":"BadRequest","code":400}"#
        );
    }
}
