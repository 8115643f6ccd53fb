//! The shipped CI examples stay true to the CLI: every `mcs-harness run` flag they use
//! exists, the CronJob's RBAC grants what a run needs and no wildcards.

mod support;

use std::process::Command;

use support::{harness_bin, root};

fn run_help() -> String {
    let out = Command::new(harness_bin())
        .args(["run", "--help"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `--flag` tokens in `text` (value parts after `=` dropped).
fn flags(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '(')
        .filter(|t| t.starts_with("--") && t.len() > 2)
        .map(|t| {
            t.split('=')
                .next()
                .unwrap()
                .trim_end_matches([',', ')'])
                .to_string()
        })
        .collect()
}

#[test]
fn nightly_workflow_uses_existing_flags_and_all_reports() {
    let text = std::fs::read_to_string(root().join("examples/ci/nightly-gke.yml")).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let steps = doc["jobs"]["mcs"]["steps"].as_array().unwrap();
    let run = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .find(|r| r.contains("mcs-harness run"))
        .expect("a step runs mcs-harness");
    let help = run_help();
    let used = flags(run);
    for f in &used {
        assert!(
            help.contains(f.as_str()),
            "{f} is not a `run` flag:\n{help}"
        );
    }
    for want in [
        "--junit",
        "--json",
        "--html",
        "--markdown",
        "--baseline",
        "--repeat",
        "--cluster",
    ] {
        assert!(
            used.iter().any(|f| f == want),
            "{want} missing from the workflow's run step"
        );
    }
}

#[test]
fn cronjob_rbac_is_minimal_and_args_are_valid() {
    let text = std::fs::read_to_string(root().join("examples/k8s/cronjob.yaml")).unwrap();
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Role",
            "RoleBinding",
            "PersistentVolumeClaim",
            "CronJob"
        ]
    );
    let rules = docs[2]["rules"].as_array().unwrap();
    for r in rules {
        for field in ["apiGroups", "resources", "verbs"] {
            let values = r[field].as_array().unwrap();
            assert!(values.iter().all(|v| v != "*"), "wildcard in {r}");
        }
    }
    let grants = |res: &str, verb: &str| {
        rules.iter().any(|r| {
            r["resources"].as_array().unwrap().iter().any(|x| x == res)
                && r["verbs"].as_array().unwrap().iter().any(|x| x == verb)
        })
    };
    for (res, verb) in [
        ("namespaces", "create"),
        ("namespaces", "delete"),
        ("pods/exec", "create"),
        ("serviceexports", "create"),
        ("serviceimports", "watch"),
        ("endpointslices", "list"),
    ] {
        assert!(grants(res, verb), "the ClusterRole must grant {verb} {res}");
    }
    assert!(!grants("secrets", "get"), "no access to secrets");
    // Exactly what a run needs: every permission preflight checks (GKE flavour, no Fault
    // API on a real fleet) is granted — cluster-wide, or by the Role in the Lease's
    // namespace — and every rule grants something a run or its diagnosis uses.
    let role = docs[4]["rules"].as_array().unwrap();
    let covers = |rules: &[serde_json::Value], group: &str, res: &str, verb: &str| {
        rules.iter().any(|r| {
            let has = |f: &str, v: &str| r[f].as_array().unwrap().iter().any(|x| x == v);
            has("apiGroups", group) && has("resources", res) && has("verbs", verb)
        })
    };
    let needs = mcs_harness::fleet::preflight::needs(&[mcs_harness::scenario::Flavour::Gke], false);
    for (verb, group, resource, sub, ns) in &needs {
        let res = match *sub {
            "" => resource.to_string(),
            s => format!("{resource}/{s}"),
        };
        let granted = covers(rules, group, &res, verb)
            || (*ns == "mcs-harness" && covers(role, group, &res, verb));
        assert!(
            granted,
            "{verb} {group}/{res} (namespace {ns:?}) is not granted"
        );
    }
    assert_eq!(docs[4]["metadata"]["namespace"], "mcs-harness");
    assert_eq!(docs[5]["roleRef"]["name"], docs[4]["metadata"]["name"]);
    // Beyond preflight's list: the waits read what they watch (get/list/watch), recipes
    // create ConfigMaps, events and pod logs are evidence, the importer's Lease its health.
    let extra = [
        "configmaps",
        "events",
        "pods/log",
        "leases",
        "serviceimports",
        "endpoints",
        "endpointslices",
    ];
    for r in rules.iter().chain(role) {
        for res in r["resources"].as_array().unwrap() {
            let res = res.as_str().unwrap();
            let needed = needs.iter().any(|(_, _, n, sub, _)| match *sub {
                "" => *n == res,
                s => format!("{n}/{s}") == res,
            });
            assert!(
                needed || extra.contains(&res),
                "{res} is granted but not needed"
            );
        }
    }
    // Reports go to a PVC, not an emptyDir that dies with the pod.
    assert_eq!(docs[6]["metadata"]["name"], "mcs-harness-reports");
    let job = &docs[7]["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let reports = job["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "reports")
        .unwrap();
    assert_eq!(
        reports["persistentVolumeClaim"]["claimName"],
        "mcs-harness-reports"
    );
    assert_eq!(job["serviceAccountName"], "mcs-harness");
    let args: Vec<&str> = job["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[0], "run");
    assert!(args.contains(&"--cluster=a=@in-cluster"), "{args:?}");
    let help = run_help();
    for f in flags(&args.join(" ")) {
        assert!(help.contains(f.as_str()), "{f} is not a `run` flag");
    }
}

/// The workflow's `run scenarios` script, as GitHub Actions would run it (bash, the env of
/// the workflow), against a 2-cluster fleet without faults (as a real GKE fleet): its
/// contexts point at the fleet, `./target/release/mcs-harness` is the binary under test.
#[test]
fn nightly_workflow_run_step_passes_on_a_two_cluster_fleet() {
    let text = std::fs::read_to_string(root().join("examples/ci/nightly-gke.yml")).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let script = doc["jobs"]["mcs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .find(|r| r.contains("mcs-harness run"))
        .unwrap()
        .to_string();
    let env = &doc["env"];
    assert!(
        env["CLUSTER_A"].is_string() && env["CLUSTER_B"].is_string(),
        "{env}"
    );
    let sim = support::SimProcess::start_with(&["--no-faults"]);
    // The job's checkout: the repository's scenarios and fixtures, the built binary.
    let work = sim.dir.path().join("checkout");
    std::fs::create_dir_all(work.join("target/release")).unwrap();
    for d in ["scenarios", "fixtures"] {
        std::os::unix::fs::symlink(root().join(d), work.join(d)).unwrap();
    }
    std::os::unix::fs::symlink(harness_bin(), work.join("target/release/mcs-harness")).unwrap();
    let summary = sim.dir.path().join("step-summary.md");
    std::fs::write(&summary, "").unwrap();
    let mut cmd = Command::new("bash");
    cmd.args(["-e", "-c", &script])
        .current_dir(&work)
        .env("KUBECONFIG", &sim.kubeconfig)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("CI", "true");
    for (k, v) in env.as_object().unwrap() {
        cmd.env(k, v.as_str().unwrap());
    }
    // The workflow's two contexts are the fleet's (gke_PROJECT_LOCATION_CLUSTER on GKE).
    cmd.env("CLUSTER_A", "a").env("CLUSTER_B", "b");
    let out = cmd.output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{all}");
    // --repeat 3 of the 6 portable scenarios; the rest skipped with their reasons.
    assert!(all.contains("18 passed; 0 failed; 18 skipped"), "{all}");
    for f in ["junit.xml", "report.json", "report.html"] {
        assert!(work.join(f).is_file(), "{f} written");
    }
    support::assert_valid_json_report(&work.join("report.json"));
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("| mcs-basic |"), "{md}");
}

/// The CronJob's container as a kubelet would run it in cluster `a`: the service-account
/// token and CA at the in-cluster paths (a private mount namespace over /run), the
/// `KUBERNETES_SERVICE_*` variables, the volumes at their mount paths, and its exact
/// arguments. Cluster `b` is reached through the Secret's kubeconfig. The fleet serves no
/// Fault API, as a real one.
#[test]
fn cronjob_container_runs_in_cluster_against_a_two_cluster_fleet() {
    let text = std::fs::read_to_string(root().join("examples/k8s/cronjob.yaml")).unwrap();
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).unwrap();
    let cronjob = docs.iter().find(|d| d["kind"] == "CronJob").unwrap();
    let container = &cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    let sim = support::SimProcess::start_with(&["--no-faults"]);
    let kc: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&sim.kubeconfig).unwrap()).unwrap();
    let ctx_a = kc["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "a")
        .unwrap();
    let user_a = kc["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == ctx_a["context"]["user"])
        .unwrap();
    let token = user_a["user"]["token"].as_str().unwrap().to_string();
    let cluster_a = kc["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == ctx_a["context"]["cluster"])
        .unwrap();
    let server = cluster_a["cluster"]["server"].as_str().unwrap();
    let ca = cluster_a["cluster"]["certificate-authority-data"]
        .as_str()
        .unwrap();
    let (host, port) = server
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .rsplit_once(':')
        .unwrap();
    // The volumes, each in a directory of its own, mapped to its mountPath.
    let vols = sim.dir.path().join("volumes");
    let mut mounts = Vec::new();
    for m in container["volumeMounts"].as_array().unwrap() {
        let (name, path) = (
            m["name"].as_str().unwrap(),
            m["mountPath"].as_str().unwrap(),
        );
        let dir = vols.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        if name == "cluster-b" {
            std::fs::copy(&sim.kubeconfig, dir.join("kubeconfig")).unwrap();
        }
        mounts.push((path.to_string(), dir));
    }
    // The image's /scenarios (examples/k8s/Dockerfile: COPY scenarios /scenarios).
    mounts.push(("/scenarios".to_string(), root().join("scenarios")));
    let sa = sim.dir.path().join("serviceaccount");
    std::fs::create_dir_all(&sa).unwrap();
    std::fs::write(sa.join("token"), &token).unwrap();
    std::fs::write(sa.join("namespace"), "mcs-harness").unwrap();
    std::fs::write(sa.join("ca.crt.b64"), ca).unwrap();
    // Paths under a mountPath are the volume's files; the service account is mounted over a
    // private /run, so nothing of this reaches the host's filesystem.
    let args = remount(&container["args"], &mounts);
    let script = format!(
        "set -e; mount -t tmpfs tmpfs /run; d=/run/secrets/kubernetes.io/serviceaccount; \
         mkdir -p $d; cp {sa}/token {sa}/namespace $d/; base64 -d {sa}/ca.crt.b64 > $d/ca.crt; \
         exec \"$@\"",
        sa = sa.display()
    );
    // The container's command (a shell giving each run its own report directory), with
    // mcs-harness on PATH as in the image.
    let command = remount(&container["command"], &mounts);
    let bin = sim.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(harness_bin(), bin.join("mcs-harness")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
            "sh",
        ])
        .args(&command)
        .args(&args)
        .env("PATH", path)
        .current_dir(root())
        .env("KUBERNETES_SERVICE_HOST", host)
        .env("KUBERNETES_SERVICE_PORT", port)
        .env("CI", "1")
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("a=@in-cluster"), "{all}");
    assert!(all.contains("6 passed; 0 failed; 6 skipped"), "{all}");
    let reports = &mounts.iter().find(|(p, _)| p == "/reports").unwrap().1;
    let runs: Vec<std::path::PathBuf> = std::fs::read_dir(reports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "one directory per run: {runs:?}");
    for f in ["report.json", "junit.xml", "report.html"] {
        assert!(runs[0].join(f).is_file(), "{f} in {}", runs[0].display());
    }
    support::assert_valid_json_report(&runs[0].join("report.json"));
}

/// Patterns of `.dockerignore` that match top-level `name` (the forms the file uses:
/// `name`, `name/`, `/name`, `**/name/`; globs are not needed there).
fn dockerignored(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|p| {
        let p = p.trim_start_matches("**/").trim_start_matches('/');
        p.trim_end_matches('/') == name
    })
}

/// No Docker daemon is here: the build context is checked by reading `.dockerignore`, and
/// the Dockerfile by what it copies and runs.
#[test]
fn docker_build_context_leaves_out_target_and_git() {
    let text = std::fs::read_to_string(root().join(".dockerignore")).expect(".dockerignore");
    let patterns: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    assert!(
        patterns.iter().all(|p| !p.starts_with('!')),
        "no re-includes: {patterns:?}"
    );
    for out in ["target", ".git"] {
        assert!(
            dockerignored(&patterns, out),
            "{out} is in the build context"
        );
    }
    let dockerfile = std::fs::read_to_string(root().join("examples/k8s/Dockerfile")).unwrap();
    assert!(dockerfile.matches("\nFROM ").count() >= 1 && dockerfile.contains(" AS build"));
    // Everything the build and the image need stays in the context.
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "harness",
        "sim",
        "importer",
        "scenarios",
        "fixtures",
        "scenario.schema.json",
    ] {
        assert!(root().join(needed).exists(), "{needed}");
        assert!(
            !dockerignored(&patterns, needed),
            "{needed} is ignored but needed"
        );
    }
    for line in dockerfile
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let src = line.split_whitespace().nth(1).unwrap();
        if src != "." {
            assert!(
                !dockerignored(&patterns, src),
                "{line}: its source is ignored"
            );
        }
    }
    // .git is not in the context, so the commit comes in as a build argument; the image
    // smoke-tests itself on the embedded fleet.
    assert!(dockerfile.contains("ARG MCS_HARNESS_GIT_COMMIT"));
    assert!(
        dockerfile.contains(r#"RUN ["mcs-harness", "run""#),
        "{dockerfile}"
    );
    assert!(dockerfile.contains("--locked"));
}

/// The Indexed Job shards the suite: completions = parallelism = the shard count in the
/// `--shard` argument, indexed by JOB_COMPLETION_INDEX, each shard its own report file.
#[test]
fn indexed_job_shards_by_completion_index() {
    let text = std::fs::read_to_string(root().join("examples/k8s/indexed-job.yaml")).unwrap();
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).unwrap();
    let job = docs.iter().find(|d| d["kind"] == "Job").expect("a Job");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let n = spec["completions"].as_u64().unwrap();
    assert_eq!(spec["parallelism"].as_u64(), Some(n));
    let pod = &spec["template"]["spec"];
    let c = &pod["containers"][0];
    let command: Vec<&str> = c["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let script = command[2];
    assert!(
        script.contains(&format!("--shard=\"$JOB_COMPLETION_INDEX/{n}\"")),
        "{script}"
    );
    assert!(
        script.contains("shard-$JOB_COMPLETION_INDEX.json"),
        "{script}"
    );
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[0], "run");
    let help = run_help();
    for f in flags(&args.join(" ")).into_iter().chain(flags(script)) {
        assert!(help.contains(f.as_str()), "{f} is not a `run` flag");
    }
    // The pods share the CronJob's service account (its RBAC) and a volume for reports.
    assert_eq!(pod["serviceAccountName"], "mcs-harness");
    let claim = docs
        .iter()
        .find(|d| d["kind"] == "PersistentVolumeClaim")
        .unwrap();
    assert_eq!(claim["spec"]["accessModes"][0], "ReadWriteMany");
    // The shell splits the script as a pod would run it.
    let check = Command::new("sh")
        .args(["-n", "-c", script])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

/// The container's strings with each volume's mountPath replaced by its local directory.
fn remount(list: &serde_json::Value, mounts: &[(String, std::path::PathBuf)]) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let mut a = a.as_str().unwrap().to_string();
            for (path, dir) in mounts {
                a = a.replace(path.as_str(), dir.to_str().unwrap());
            }
            a
        })
        .collect()
}
