//! Malformed and hostile input: every request gets a `Status` with the right 4xx code, the
//! server keeps serving, and the store is unchanged (no resourceVersion was consumed).

mod common;

use http::{Method, Request, StatusCode};
use kube::client::Body;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

struct Raw {
    client: kube::Client,
}

impl Raw {
    async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap();
        let resp = self.client.send(req).await.expect("transport works");
        let status = resp.status();
        let bytes = axum::body::to_bytes(axum::body::Body::new(resp.into_body()), usize::MAX)
            .await
            .unwrap_or_default();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn expect(
        &self,
        method: Method,
        path: &str,
        ct: &str,
        body: impl Into<Vec<u8>>,
        code: u16,
        reason: &str,
    ) {
        let (status, v) = self.send(method.clone(), path, ct, body.into()).await;
        assert_eq!(status.as_u16(), code, "{method} {path}: {v}");
        assert_eq!(v["kind"], "Status", "{method} {path}: {v}");
        assert_eq!(v["code"], code, "{v}");
        assert_eq!(v["reason"], reason, "{v}");
    }
}

fn dump(fleet: &mcs_sim::Fleet) -> (u64, Vec<Value>) {
    let store = &fleet.cluster("a").unwrap().cluster.store;
    let mut all = Vec::new();
    for res in store.resources() {
        for o in store.list(&res, None, None, 0, &|_| true).items {
            all.push((*o).clone());
        }
    }
    (store.current_rv(), all)
}

const CMS: &str = "/api/v1/namespaces/default/configmaps";
const JSON: &str = "application/json";

#[tokio::test]
async fn malformed_requests_get_statuses_and_change_nothing() {
    let fleet = common::fleet().await;
    let raw = Raw {
        client: common::client(&fleet, "a").await,
    };
    let seed = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keep"}, "data": {"a": "1"}});
    raw.send(Method::POST, CMS, JSON, seed.to_string().into_bytes())
        .await;
    common::settled(&fleet, "a").await;
    let before = dump(&fleet);

    raw.expect(
        Method::POST,
        CMS,
        JSON,
        "{\"apiVersion\": \"v1\", \"kind\": \"Conf",
        400,
        "BadRequest",
    )
    .await;
    raw.expect(Method::POST, CMS, JSON, "[1,2,3]", 400, "BadRequest")
        .await;
    raw.expect(
        Method::POST,
        CMS,
        JSON,
        vec![0xff, 0x00, 0x13, 0x37],
        400,
        "BadRequest",
    )
    .await;
    raw.expect(
        Method::POST,
        CMS,
        "application/yaml",
        "a: [b\n  - : :",
        400,
        "BadRequest",
    )
    .await;
    raw.expect(
        Method::POST,
        CMS,
        "text/plain",
        "hello",
        415,
        "UnsupportedMediaType",
    )
    .await;
    raw.expect(
        Method::POST,
        CMS,
        JSON,
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}).to_string(),
        400,
        "BadRequest",
    )
    .await;
    raw.expect(
        Method::POST,
        CMS,
        JSON,
        json!({"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
            .to_string(),
        400,
        "BadRequest",
    )
    .await;
    for bad in ["UPPER", "a_b", "-lead", &"x".repeat(300), ""] {
        let body =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": bad}}).to_string();
        let (code, v) = raw.send(Method::POST, CMS, JSON, body.into_bytes()).await;
        assert!(matches!(code.as_u16(), 400 | 422), "{bad:?}: {v}");
        assert_eq!(v["kind"], "Status");
    }
    let no_selector = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
    raw.expect(
        Method::POST,
        "/apis/apps/v1/namespaces/default/deployments",
        JSON,
        no_selector.to_string(),
        422,
        "Invalid",
    )
    .await;
    raw.expect(
        Method::POST,
        CMS,
        JSON,
        vec![b' '; 4 * 1024 * 1024],
        413,
        "RequestEntityTooLarge",
    )
    .await;

    let keep = format!("{CMS}/keep");
    raw.expect(
        Method::PATCH,
        &keep,
        "application/merge-patch+json",
        "{not json",
        400,
        "BadRequest",
    )
    .await;
    raw.expect(
        Method::PATCH,
        &keep,
        "application/json-patch+json",
        "{\"op\": \"add\"}",
        400,
        "BadRequest",
    )
    .await;
    raw.expect(
        Method::PATCH,
        &keep,
        "application/apply-patch+yaml",
        "data: {a: 2}",
        400,
        "BadRequest",
    )
    .await;
    raw.expect(
        Method::PATCH,
        &keep,
        "text/plain",
        "x",
        415,
        "UnsupportedMediaType",
    )
    .await;
    raw.expect(
        Method::PUT,
        &keep,
        JSON,
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other"}}).to_string(),
        400,
        "BadRequest",
    )
    .await;
    raw.expect(Method::DELETE, &keep, JSON, "{garbage", 400, "BadRequest")
        .await;
    raw.expect(Method::POST, &keep, JSON, "{}", 405, "MethodNotAllowed")
        .await;
    raw.expect(
        Method::GET,
        &format!("{CMS}?labelSelector=a%20in%20("),
        JSON,
        "",
        400,
        "BadRequest",
    )
    .await;
    raw.expect(
        Method::GET,
        &format!("{CMS}?limit=-1"),
        JSON,
        "",
        400,
        "BadRequest",
    )
    .await;
    raw.expect(
        Method::GET,
        &format!("{CMS}?continue=bm9wZQ"),
        JSON,
        "",
        400,
        "BadRequest",
    )
    .await;
    raw.expect(
        Method::GET,
        "/api/v1/namespaces/default/widgets",
        JSON,
        "",
        404,
        "NotFound",
    )
    .await;
    raw.expect(
        Method::GET,
        "/apis/apps/v1/deployments/x",
        JSON,
        "",
        404,
        "NotFound",
    )
    .await;

    assert_eq!(dump(&fleet), before, "store unchanged");
}

#[tokio::test]
async fn random_bodies_never_crash_the_server_or_change_the_store() {
    let fleet = common::fleet().await;
    let raw = Raw {
        client: common::client(&fleet, "a").await,
    };
    common::settled(&fleet, "a").await;
    let before = dump(&fleet);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let paths = [
        CMS,
        "/apis/apps/v1/namespaces/default/deployments",
        "/api/v1/namespaces",
        "/api/v1/namespaces/default/configmaps/nope",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    ];
    let types = [
        JSON,
        "application/yaml",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
        "application/json-patch+json",
        "application/apply-patch+yaml",
        "application/vnd.kubernetes.protobuf",
    ];
    let valid = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {"replicas": 1}}).to_string();
    for i in 0..300 {
        let method = [Method::POST, Method::PUT, Method::PATCH][i % 3].clone();
        let path = paths[rng.random_range(0..paths.len())];
        let ct = types[rng.random_range(0..types.len())];
        let body: Vec<u8> = match i % 3 {
            0 => (0..rng.random_range(0..512))
                .map(|_| rng.random())
                .collect(),
            1 => valid.as_bytes()[..rng.random_range(0..valid.len())].to_vec(),
            _ => {
                let mut b = valid.clone().into_bytes();
                let n = b.len();
                for _ in 0..4 {
                    b[rng.random_range(0..n)] = rng.random();
                }
                b
            }
        };
        let (status, v) = raw.send(method.clone(), path, ct, body).await;
        assert!(
            status.is_client_error(),
            "{method} {path} {ct}: {status} {v}"
        );
        assert_eq!(v["kind"], "Status", "{v}");
    }
    let (status, _) = raw.send(Method::GET, "/readyz", JSON, Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    let after = dump(&fleet);
    let changed: Vec<&Value> = after.1.iter().filter(|o| !before.1.contains(o)).collect();
    assert_eq!(
        after, before,
        "store unchanged; new or changed: {changed:#?}"
    );
}
