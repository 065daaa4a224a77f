//! Every kind of bad input, as the user reads it: the exit status and the one or two
//! lines naming the flag or field, the value and what is allowed. Each case fails before
//! any cluster or Docker daemon is asked (`KUBECONFIG` points nowhere and `DOCKER_HOST` at a
//! missing socket, so a contact would end with exit 1), so neither is needed.
//!
//! Every case must exit 2 and write nothing on stdout. kuul's own errors are at most two
//! lines, `error: ...` and `hint: ...`. clap's usage errors (unknown flags, values outside
//! a flag's choices, flags that exclude or require each other) keep clap's format, which
//! is longer (a usage line, `For more information, try '--help'.`), but their first line
//! must still quote the flag or value, or list the missing arguments right below.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// The files the cases read, written into the test's working directory first: jobs
/// files, kuul config files, templates, env files and Kuul image projects. A name ending
/// in `/` is an empty directory.
const FILES: &[(&str, &str)] = &[
    // Jobs files (apply -f, diff -f).
    (
        "jobs/ops.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: backup\n    schedule: '@daily'\n",
    ),
    (
        "jobs/web.yaml",
        "set: web\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: smoke\n    schedule: '@hourly'\n",
    ),
    ("jobs/empty.yaml", ""),
    ("jobs/comments-only.yaml", "# the jobs will go here\n"),
    ("jobs/shell-script.yaml", "#!/bin/sh\necho backup\n"),
    (
        "jobs/unclosed-quote.yaml",
        "set: \"ops\njobs:\n  - name: backup\n",
    ),
    (
        "jobs/tab-indent.yaml",
        "set: ops\njobs:\n\t- name: backup\n",
    ),
    ("jobs/list.yaml", "- set: ops\n- set: web\n"),
    (
        "jobs/jobs-map.yaml",
        "set: ops\njobs:\n  backup:\n    schedule: '@daily'\n",
    ),
    (
        "jobs/defaults-list.yaml",
        "set: ops\ndefaults: [image]\njobs: []\n",
    ),
    ("jobs/set-list.yaml", "set: [ops, web]\njobs: []\n"),
    ("jobs/no-set.yaml", "jobs: []\n"),
    ("jobs/empty-set.yaml", "set: ''\njobs: []\n"),
    ("jobs/bad-set.yaml", "set: team ops!\njobs: []\n"),
    (
        "jobs/top-level-key.yaml",
        "set: ops\nnamespace: ops\njobs: []\n",
    ),
    ("jobs/duplicate-key.yaml", "set: ops\njobs: []\nset: web\n"),
    (
        "jobs/job-key.yaml",
        "set: ops\njobs:\n  - name: backup\n    schedule: '@daily'\n    imagee: kuul-base:busybox\n",
    ),
    (
        "jobs/defaults-key.yaml",
        "set: ops\ndefaults:\n  images: kuul-base:busybox\njobs: []\n",
    ),
    (
        "jobs/no-schedule.yaml",
        "set: ops\njobs:\n  - name: backup\n",
    ),
    (
        "jobs/no-image.yaml",
        "set: ops\njobs:\n  - name: backup\n    schedule: '@daily'\n",
    ),
    (
        "jobs/duplicate-job.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: backup\n    schedule: '@daily'\n  - name: backup\n    schedule: '@hourly'\n",
    ),
    (
        "jobs/bad-name.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: Backup_DB\n    schedule: '@daily'\n",
    ),
    (
        "jobs/bad-schedule.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: backup\n    schedule: '0 0 * * 8'\n",
    ),
    (
        "jobs/bad-tz.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\n  tz: Europe/Berlln\njobs:\n  - name: backup\n    schedule: '@daily'\n",
    ),
    (
        "jobs/bad-image.yaml",
        "set: ops\njobs:\n  - name: backup\n    schedule: '@daily'\n    image: Registry/Ops:v1\n",
    ),
    (
        "jobs/bad-namespace.yaml",
        "set: ops\ndefaults:\n  namespace: Team_Ops\n  image: kuul-base:busybox\njobs:\n  - name: backup\n    schedule: '@daily'\n",
    ),
    (
        "jobs/cpu-zero.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: backup\n    schedule: '@daily'\n    resources: {cpu: 0}\n",
    ),
    (
        "jobs/memory-unit.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: backup\n    schedule: '@daily'\n    resources: {memory: 512MB}\n",
    ),
    (
        "jobs/history-text.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: backup\n    schedule: '@daily'\n    historyLimits: {successful: many}\n",
    ),
    (
        "jobs/history-negative.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: backup\n    schedule: '@daily'\n    historyLimits: {failed: -1}\n",
    ),
    (
        "jobs/deadline-fraction.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: backup\n    schedule: '@daily'\n    startingDeadline: 1.5\n",
    ),
    (
        "jobs/deadline-unit.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: backup\n    schedule: '@daily'\n    activeDeadline: 2d\n",
    ),
    (
        "jobs/suspend-maybe.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: backup\n    schedule: '@daily'\n    suspend: maybe\n",
    ),
    (
        "jobs/dedicated-no-pool.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: backup\n    schedule: '@daily'\n    dedicated: true\n",
    ),
    (
        "jobs/env-list.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: backup\n    schedule: '@daily'\n    env: [REGION=eu]\n",
    ),
    (
        "jobs/env-name.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: backup\n    schedule: '@daily'\n    env: {2FA_CODE: x}\n",
    ),
    (
        "jobs/command-text.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: backup\n    schedule: '@daily'\n    command: ./backup.sh --all\n",
    ),
    (
        "jobs/label-value.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\n  labels: {team: ops team}\njobs:\n  - name: backup\n    schedule: '@daily'\n",
    ),
    (
        "jobs/set-label.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: backup\n    schedule: '@daily'\n    labels: {kuul.io/set: web}\n",
    ),
    (
        "jobs/pull-secret.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\n  imagePullSecrets: [Registry_Login]\njobs:\n  - name: backup\n    schedule: '@daily'\n",
    ),
    (
        "jobs/vars-only.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: backup\n    schedule: '@daily'\n    vars: {team: ops}\n",
    ),
    (
        "jobs/missing-template.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: backup\n    schedule: '@daily'\n    template: cronjob.yaml.j2\n",
    ),
    (
        "jobs/pod-template.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\n  template: ../templates/pod.yaml.j2\njobs:\n  - name: backup\n    schedule: '@daily'\n",
    ),
    ("jobs/empty-dir/", ""),
    ("jobs/no-yaml/README.md", "The jobs live in ../ops.yaml.\n"),
    (
        "jobs/two-sets/a.yaml",
        "set: ops\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: backup\n    schedule: '@daily'\n",
    ),
    (
        "jobs/two-sets/b.yaml",
        "set: ops-eu\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: report\n    schedule: '@weekly'\n",
    ),
    // kuul config files (--config).
    (
        "config/unknown-key.yaml",
        "resources:\n  cpu: 500m\n  gpu: 1\n",
    ),
    ("config/list.yaml", "- registry: registry.example.com\n"),
    ("config/not-yaml.yaml", "registry: 'registry.example.com\n"),
    ("config/resources-text.yaml", "resources: 1 CPU\n"),
    ("config/cpu.yaml", "resources: {cpu: lots}\n"),
    ("config/memory.yaml", "resources: {memory: '-1Gi'}\n"),
    (
        "config/history-negative.yaml",
        "historyLimits: {successful: -1}\n",
    ),
    ("config/history-text.yaml", "historyLimits: {failed: all}\n"),
    (
        "config/deadline-negative.yaml",
        "startingDeadlineSeconds: -5\n",
    ),
    ("config/deadline-text.yaml", "startingDeadlineSeconds: 5m\n"),
    ("config/pool-label-key.yaml", "poolLabelKey: 'kuul pool'\n"),
    (
        "config/registry.yaml",
        "registry: Registry.Example.com:port\n",
    ),
    ("config/namespace.yaml", "namespace: Team_Ops\n"),
    // Templates (new --template).
    (
        "templates/undefined.yaml.j2",
        "metadata:\n  name: {{ job.nmae }}\n",
    ),
    (
        "templates/syntax.yaml.j2",
        "{% if job.pool %}\nkind: CronJob\n",
    ),
    ("templates/filter.yaml.j2", "name: {{ job.name | shout }}\n"),
    (
        "templates/pod.yaml.j2",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ job.name }}\nspec:\n  containers: [{name: main, image: '{{ job.image }}'}]\n",
    ),
    ("templates/empty.yaml.j2", "{# nothing yet #}\n"),
    (
        "templates/not-yaml.yaml.j2",
        "name: {{ job.name }}\n  bad: indentation\n",
    ),
    (
        "templates/two-documents.yaml.j2",
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: '{{ job.name }}'}\nspec:\n  schedule: '{{ job.schedule }}'\n  jobTemplate: {spec: {template: {spec: {containers: [{name: main, image: x}]}}}}\n---\napiVersion: v1\nkind: ConfigMap\n",
    ),
    (
        "templates/suspend.yaml.j2",
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: '{{ job.name }}'}\nspec:\n  schedule: '{{ job.schedule }}'\n  suspend: true\n  jobTemplate: {spec: {template: {spec: {containers: [{name: main, image: x}]}}}}\n",
    ),
    (
        "templates/no-containers.yaml.j2",
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: '{{ job.name }}'}\nspec:\n  schedule: '{{ job.schedule }}'\n  jobTemplate: {spec: {template: {spec: {containers: []}}}}\n",
    ),
    (
        "templates/cpu.yaml.j2",
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: '{{ job.name }}'}\nspec:\n  schedule: '{{ job.schedule }}'\n  jobTemplate: {spec: {template: {spec: {containers: [{name: main, image: x, resources: {limits: {cpu: '{{ cpu }}'}}}]}}}}\n",
    ),
    (
        "templates/schedule-field.yaml.j2",
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: '{{ job.name }}'}\nspec:\n  schedule: {{ every }}\n  jobTemplate: {spec: {template: {spec: {containers: [{name: main, image: x}]}}}}\n",
    ),
    // Env files (image test --from-cronjob --env-file).
    (
        "env/bad-name.env",
        "# secrets of the backup job\nDB_PASSWORD=s3cret\n2FA_CODE=123456\n",
    ),
    ("env/no-name.env", "=value\n"),
    // Kuul image projects (image build/test/push --dir).
    ("image/demo/Dockerfile", "FROM kuul-base:busybox\n"),
    (
        "image/demo/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\ntests:\n  - name: works\n",
    ),
    ("image/not-empty/notes.txt", "mine\n"),
    (
        "image/stages/Dockerfile",
        "FROM kuul-base:busybox AS build\nRUN echo built\nFROM kuul-base:busybox AS final\n",
    ),
    (
        "image/stages/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\n",
    ),
    (
        "image/buildkit/Dockerfile",
        "FROM kuul-base:busybox\nRUN --mount=type=cache,target=/cache \\\n    echo cached\n",
    ),
    (
        "image/buildkit/Dockerfile.heredoc",
        "FROM kuul-base:busybox\nRUN <<EOF\necho one\necho two\nEOF\n",
    ),
    (
        "image/buildkit/Dockerfile.syntax",
        "# syntax=docker/dockerfile:1.7\nFROM kuul-base:busybox\n",
    ),
    (
        "image/buildkit/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\n",
    ),
    ("image/no-project/Dockerfile", "FROM kuul-base:busybox\n"),
    (
        "image/no-dockerfile/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\n",
    ),
    ("image/empty/kuul-image.yaml", ""),
    ("image/list/kuul-image.yaml", "- name: demo\n"),
    (
        "image/not-yaml/kuul-image.yaml",
        "name: 'demo\nversion: 1.0.0\n",
    ),
    ("image/no-name/kuul-image.yaml", "version: 1.0.0\n"),
    (
        "image/bad-name/kuul-image.yaml",
        "name: Demo_Image\nversion: 1.0.0\n",
    ),
    (
        "image/bad-version/kuul-image.yaml",
        "name: demo\nversion: -1\n",
    ),
    (
        "image/version-list/kuul-image.yaml",
        "name: demo\nversion: [1, 0]\n",
    ),
    (
        "image/unknown-key/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\nregistery: registry.example.com\n",
    ),
    (
        "image/bad-registry/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\nregistry: https://registry.example.com\n",
    ),
    (
        "image/tests-map/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\ntests:\n  works: {}\n",
    ),
    (
        "image/case-key/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\ntests:\n  - name: works\n    exitcode: 0\n",
    ),
    (
        "image/exit-code/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\ntests:\n  - name: works\n    expect: {exitCode: zero}\n",
    ),
    (
        "image/network/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\ntests:\n  - name: works\n    network: host\n",
    ),
    (
        "image/memory/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\ntests:\n  - name: works\n    resources: {memory: lots}\n",
    ),
    (
        "image/cpu/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\ntests:\n  - name: works\n    resources: {cpu: '0'}\n",
    ),
    (
        "image/timeout/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\ntests:\n  - name: works\n    timeout: 0\n",
    ),
    (
        "image/regex/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\ntests:\n  - name: works\n    expect:\n      stdout: {matches: ['done (']}\n",
    ),
    (
        "image/command-text/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\ntests:\n  - name: works\n    command: /bin/sh -c true\n",
    ),
    (
        "image/duplicate-case/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\ntests:\n  - name: works\n  - name: works\n",
    ),
    (
        "image/empty-case-name/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\ntests:\n  - name: ''\n",
    ),
    (
        "image/env-name/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\ntests:\n  - name: works\n    env: {2FA_CODE: x}\n",
    ),
    (
        "image/build-arg/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\nbuildArgs: {BASE IMAGE: debian}\n",
    ),
    (
        "image/no-cases/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\n",
    ),
    (
        "image/bad-dockerignore/Dockerfile",
        "FROM kuul-base:busybox\n",
    ),
    (
        "image/bad-dockerignore/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\n",
    ),
    (
        "image/bad-dockerignore/.dockerignore",
        "# build output\ntarget/\n[Bb]uild\n*.[oa\n",
    ),
    ("image/lone-bang/Dockerfile", "FROM kuul-base:busybox\n"),
    (
        "image/lone-bang/kuul-image.yaml",
        "name: demo\nversion: 1.0.0\n",
    ),
    ("image/lone-bang/.dockerignore", "*.md\n!\n"),
];

/// Command lines after `kubectl kuul`, each with a bad value or a bad combination. Paths
/// are relative to the directory holding [`FILES`].
#[rustfmt::skip]
const CASES: &[&[&str]] = &[
    // new: the job's flags.
    &["new", "Backup", "--image", "x", "--schedule", "@daily"],
    &["new", "backup-of-the-production-database-before-the-nightly-run", "--image", "x", "--schedule", "@daily"],
    &["new", "backup", "--schedule", "@daily"],
    &["new", "backup", "--image", "x", "--schedule", "61 * * * *"],
    &["new", "backup", "--image", "x", "--schedule", "* * *"],
    &["new", "backup", "--image", "x", "--schedule", "@fortnightly"],
    &["new", "backup", "--image", "x", "--schedule", "@every 5 minutes"],
    &["new", "backup", "--image", "x", "--schedule", "0 25 * * *"],
    &["new", "backup", "--image", "x", "--schedule", "CRON_TZ=Europe/Berlin 0 2 * * *"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--tz", "Mars/Base"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--tz", "Local"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--cpu", "lots"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--cpu", "-1"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--memory", "0"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--memory", "512MB"],
    &["new", "backup", "--image", "Not An Image", "--schedule", "@daily"],
    &["new", "backup", "--image", "", "--schedule", "@daily"],
    &["new", "backup", "--image", "registry.example.com/ops/kuul:v3 beta", "--schedule", "@daily"],
    &["new", "backup", "--image", "kuul@sha256:abc", "--schedule", "@daily"],
    &["new", "backup", "--image", "localhost:99999/ops/kuul:v3", "--schedule", "@daily"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--pool", "bad pool"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--dedicated"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--env", "2FA_CODE=x"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--env", "DB_HOST"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--env", "A=1", "--env", "A=2"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--label", "team"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--label", "my team=ops"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--label", "team=ops team"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--label", "kuul.io/job=x"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--image-pull-secret", "Registry_Login"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--working-dir", ""],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--starting-deadline", "0"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--starting-deadline", "-5"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--starting-deadline", "5q"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--active-deadline", "1.5s"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--active-deadline", "2d"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--active-deadline", "9999999999h"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--history-success", "-1"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--history-failed", "99999999999"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--history-failed", "all"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "-n", "Team_Ops"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "-o", "xml"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--adopt"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--set", "team=ops"],
    // new: the kuul config file.
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--config", "config/missing.yaml"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--config", "config/unknown-key.yaml"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--config", "config/list.yaml"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--config", "config/not-yaml.yaml"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--config", "config/resources-text.yaml"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--config", "config/cpu.yaml"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--config", "config/memory.yaml"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--config", "config/history-negative.yaml"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--config", "config/history-text.yaml"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--config", "config/deadline-negative.yaml"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--config", "config/deadline-text.yaml"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--config", "config/pool-label-key.yaml"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--config", "config/registry.yaml"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--config", "config/namespace.yaml"],
    // new: templates and their variables.
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--template", "templates/missing.yaml.j2"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--template", "templates"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--template", "templates/undefined.yaml.j2"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--template", "templates/syntax.yaml.j2"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--template", "templates/filter.yaml.j2"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--template", "templates/pod.yaml.j2"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--template", "templates/empty.yaml.j2"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--template", "templates/not-yaml.yaml.j2"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--template", "templates/two-documents.yaml.j2"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--template", "templates/suspend.yaml.j2"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--template", "templates/no-containers.yaml.j2"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--template", "templates/cpu.yaml.j2", "--set", "cpu=lots"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--template", "templates/schedule-field.yaml.j2", "--set", "every=[1h]"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--template", "templates/cpu.yaml.j2", "--set", "cpu"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--template", "templates/cpu.yaml.j2", "--set", "cpu-limit=1"],
    &["new", "backup", "--image", "x", "--schedule", "@daily", "--template", "templates/cpu.yaml.j2", "--set", "job=backup"],
    // run-now
    &["run-now"],
    &["run-now", "Backup_Db"],
    &["run-now", "Backup_Db", "--local"],
    &["run-now", "backup", "--name", "Backup_Manual"],
    &["run-now", "backup", "--timeout", "5q"],
    &["run-now", "backup", "--timeout", "10m"],
    &["run-now", "backup", "--wait", "--dry-run"],
    &["run-now", "backup", "--blocked-timeout", "soon"],
    &["run-now", "backup", "-o", "xml"],
    &["run-now", "backup", "--local", "--dry-run"],
    &["run-now", "backup", "--local", "--wait"],
    &["run-now", "backup", "--env-file", "env/bad-name.env"],
    &["run-now", "backup", "--local", "--env-file", "env/missing.env"],
    &["run-now", "backup", "--local", "--env-file", "env/bad-name.env"],
    // suspend and resume
    &["suspend"],
    &["suspend", "backup", "--all"],
    &["suspend", "-l", "team=ops", "--all"],
    &["suspend", "backup", "-A"],
    &["suspend", "backup", "--include-unmanaged"],
    &["suspend", "Backup_DB"],
    &["suspend", "-l", "team=ops=web"],
    &["suspend", "-l", "team in (ops"],
    &["suspend", "backup", "--reason", " "],
    &["suspend", "backup", "--dry-run=all"],
    // stop
    &["stop"],
    &["stop", "-l", "team=ops", "--run", "backup-29000060"],
    &["stop", "backup", "smoke", "--run", "backup-29000060"],
    &["stop", "backup", "--run", "Backup_Run"],
    &["stop", "backup", "--timeout", "-3"],
    &["stop", "backup", "--timeout", "0"],
    &["stop", "backup", "--and-suspend", "--reason", " "],
    &["stop", "backup", "--reason", "hung"],
    &["stop", "backup", "-A"],
    &["stop", "backup", "--dry-run=all"],
    &["stop", "backup", "--archive", "gs://kuul-logs/prod"],
    &["stop", "backup", "--archive", "/tmp/archive", "--no-archive"],
    &["stop", "backup", "--endpoint", "http://127.0.0.1:9000"],
    &["stop", "backup", "--archive", "s3://kuul-logs", "--cluster-name", "prod/eu"],
    // set
    &["set", "schedule", "backup"],
    &["set", "schedule", "backup", "61 * * * *"],
    &["set", "schedule", "backup", "@daily", "--tz", "Mars/Base"],
    &["set", "image", "backup", "Not An Image"],
    &["set", "pool", "backup", "bad pool"],
    &["set", "resources", "backup"],
    &["set", "resources", "backup", "--memory", "1GB"],
    &["set", "history", "backup", "--failed", "-2"],
    &["set", "deadline", "backup", "forever"],
    &["set", "concurrency", "backup", "Sometimes"],
    &["set", "schedule", "--all", "backup", "@daily"],
    &["resume", "backup", "-l", "team=ops"],
    &["resume", "-l", "a=b,,c=d"],
    &["resume", "-l", "!!"],
    &["resume", "backup db"],
    // prune
    &["prune", "--older-than", "3x"],
    &["prune", "--older-than", "0"],
    &["prune", "--keep", "all"],
    &["prune", "--keep", "-1"],
    &["prune", "--failed", "--succeeded"],
    &["prune", "backup db"],
    &["prune", "Backup_Db"],
    &["prune", "-l", "team in (ops"],
    // label-nodes
    &["label-nodes", "Prod!", "node-1"],
    &["label-nodes", "prod", "Node_1"],
    &["label-nodes", "--remove", "Node_1"],
    &["label-nodes", "prod"],
    &["label-nodes", "--list", "prod"],
    &["label-nodes", "prod", "--remove", "node-1"],
    &["label-nodes", "--list", "-o", "xml"],
    &["label-nodes", "prod", "node-1", "-o", "json"],
    &["label-nodes", "prod", "node-1", "--config", "config/missing.yaml"],
    &["label-nodes", "prod", "node-1", "--config", "config/pool-label-key.yaml"],
    // status
    &["status", "-o", "xml"],
    &["status", "--pool", "bad pool"],
    &["status", "Backup_DB"],
    &["status", "-l", "team in ops"],
    &["status", "-l", "replicas>ten"],
    &["status", "--check", "--watch"],
    &["status", "--watch", "-o", "name"],
    &["status", "--config", "config/unknown-key.yaml"],
    &["status", "--request-timeout", "soon"],
    // history
    &["archive"],
    &["archive", "--all", "--to", "gs://kuul-logs"],
    &["archive", "backup", "--all", "--to", "s3://kuul-logs"],
    &["archive", "--all", "--to", "s3://kuul-logs", "--endpoint", "minio:9000"],
    &["archive", "--all", "--to", "/tmp/archive", "--endpoint", "http://minio:9000"],
    &["archive", "--all", "--to", "s3://kuul-logs", "--cluster-name", "a b"],
    &["archive", "--all", "--to", "s3://kuul-logs", "--every", "5m"],
    &["archive", "--all", "--to", "/tmp/archive", "--install", "--image", "kuul/archiver:1"],
    &["archive", "--all", "--to", "s3://kuul-logs", "--install"],
    &["archive", "--all", "--to", "s3://kuul-logs", "--install", "--image", "kuul/archiver:1", "--every", "7m"],
    &["archive", "--all", "--to", "s3://kuul-logs", "--install", "--image", "kuul/archiver:1", "--secret", "Bad_Secret"],
    &["archive", "--all", "--to", "s3://kuul-logs", "--install", "--image", "kuul/archiver:1", "--dedicated"],
    &["archive", "--all", "--to", "s3://kuul-logs", "--install", "--image", "Kuul/Archiver:1"],
    &["failover", "--from", "eu-1", "--to", "eu-1", "--set", "team-ops"],
    &["failover", "--from", "eu-1", "--to", "eu-2"],
    &["failover", "--from", "eu-1", "--to", "eu-2", "backup", "--set", "team-ops"],
    &["failover", "--to", "eu-2", "--set", "team-ops"],
    &["failover", "--from", "eu-1", "--to", "eu-2", "--set", "team ops"],
    &["failover", "--from", "eu-1", "--to", "eu-2", "Backup_DB"],
    &["failover", "--from", "eu-1", "--to", "eu-2", "-l", "team in ops"],
    &["status", "--contexts", "kuul-*", "--watch"],
    &["status", "--context", "eu-1", "--context", "eu-2", "-w"],
    &["label-nodes", "prod", "node-1", "--context", "eu-1", "--context", "eu-2"],
    &["archive", "--all", "--to", "s3://kuul-logs", "--contexts", "kuul-*"],
    &["history"],
    &["history", "Backup_DB"],
    &["history", ""],
    &["history", "backup", "-o", "xml"],
    &["history", "backup", "restore"],
    &["history", "backup", "--archive", "gs://kuul-logs/prod"],
    &["history", "backup", "--archive", "s3://Kuul_Logs"],
    &["history", "backup", "--archive", "/tmp/archive", "--no-archive"],
    &["history", "backup", "--endpoint", "http://127.0.0.1:9000"],
    &["history", "backup", "--archive", "/tmp/archive", "--endpoint", "http://x"],
    &["history", "backup", "--archive", "s3://kuul-logs", "--cluster-name", "prod/eu"],
    // logs
    &["logs", "backup", "--run", "0"],
    &["logs", "Backup_DB"],
    &["logs", "backup", "--run", "Backup_Manual"],
    &["logs", "backup", "--all", "--run", "2"],
    &["logs", "backup", "--all", "-f"],
    &["logs", "backup", "--tail", "all"],
    &["logs", "backup", "--since", "3x"],
    &["logs", "backup", "--archive", "file://host/archive"],
    &["logs", "backup", "--archive", "s3://kuul-logs", "--endpoint", "minio:9000"],
    &["logs", "backup", "-f", "--blocked-timeout", "5q"],
    // apply and diff: flags
    &["apply"],
    &["apply", "-f", "jobs/ops.yaml", "--diff", "--dry-run"],
    &["apply", "-f", "jobs/ops.yaml", "--prune-runs"],
    &["apply", "-f", "jobs/ops.yaml", "--dry-run=bogus"],
    &["diff", "-f", "jobs/ops.yaml", "--dry-run"],
    &["diff", "-f", "jobs/ops.yaml", "--context", "eu-1", "--contexts", "eu-*"],
    &["diff", "-f", "jobs/missing.yaml"],
    &["diff", "-f", "jobs/empty-dir"],
    &["diff", "-f", "jobs/no-yaml"],
    &["apply", "-f", "jobs/ops.yaml", "--config", "config/unknown-key.yaml"],
    // apply and diff: the jobs files
    &["apply", "-f", "jobs/ops.yaml", "-f", "jobs/web.yaml"],
    &["diff", "-f", "jobs/two-sets"],
    &["apply", "-f", "jobs/empty.yaml"],
    &["apply", "-f", "jobs/comments-only.yaml"],
    &["apply", "-f", "jobs/shell-script.yaml"],
    &["apply", "-f", "jobs/unclosed-quote.yaml"],
    &["apply", "-f", "jobs/tab-indent.yaml"],
    &["apply", "-f", "jobs/list.yaml"],
    &["apply", "-f", "jobs/jobs-map.yaml"],
    &["apply", "-f", "jobs/defaults-list.yaml"],
    &["apply", "-f", "jobs/set-list.yaml"],
    &["apply", "-f", "jobs/no-set.yaml"],
    &["apply", "-f", "jobs/empty-set.yaml"],
    &["apply", "-f", "jobs/bad-set.yaml"],
    &["apply", "-f", "jobs/top-level-key.yaml"],
    &["apply", "-f", "jobs/duplicate-key.yaml"],
    &["apply", "-f", "jobs/job-key.yaml"],
    &["apply", "-f", "jobs/defaults-key.yaml"],
    &["apply", "-f", "jobs/no-schedule.yaml"],
    &["apply", "-f", "jobs/no-image.yaml"],
    &["apply", "-f", "jobs/duplicate-job.yaml"],
    &["apply", "-f", "jobs/bad-name.yaml"],
    &["apply", "-f", "jobs/bad-schedule.yaml"],
    &["apply", "-f", "jobs/bad-tz.yaml"],
    &["apply", "-f", "jobs/bad-image.yaml"],
    &["apply", "-f", "jobs/bad-namespace.yaml"],
    &["apply", "-f", "jobs/cpu-zero.yaml"],
    &["apply", "-f", "jobs/memory-unit.yaml"],
    &["apply", "-f", "jobs/history-text.yaml"],
    &["apply", "-f", "jobs/history-negative.yaml"],
    &["apply", "-f", "jobs/deadline-fraction.yaml"],
    &["apply", "-f", "jobs/deadline-unit.yaml"],
    &["apply", "-f", "jobs/suspend-maybe.yaml"],
    &["apply", "-f", "jobs/dedicated-no-pool.yaml"],
    &["apply", "-f", "jobs/env-list.yaml"],
    &["apply", "-f", "jobs/env-name.yaml"],
    &["apply", "-f", "jobs/command-text.yaml"],
    &["apply", "-f", "jobs/label-value.yaml"],
    &["apply", "-f", "jobs/set-label.yaml"],
    &["apply", "-f", "jobs/pull-secret.yaml"],
    &["apply", "-f", "jobs/vars-only.yaml"],
    &["apply", "-f", "jobs/missing-template.yaml"],
    &["apply", "-f", "jobs/pod-template.yaml"],
    // rbac
    &["rbac", "nobody"],
    &["rbac", "viewer", "--user", ""],
    &["rbac", "viewer", "--group", " "],
    &["rbac", "viewer", "--serviceaccount", "kuul-bot"],
    &["rbac", "viewer", "--serviceaccount", "Ops:kuul-bot"],
    &["rbac", "viewer", "--serviceaccount", "ops:"],
    &["rbac", "viewer", "-n", "Team_Ops"],
    &["rbac", "label-nodes", "-n", "ops"],
    &["rbac", "operator", "--cluster", "-n", "ops"],
    &["rbac", "viewer", "-o", "table"],
    // version and completion
    &["version", "-o", "table"],
    &["version", "--client", "--server"],
    &["completion"],
    &["completion", "tcsh"],
    &["completion", "bash", "--dir", "."],
    // image init
    &["image", "init", "Bad_Name"],
    &["image", "init", ""],
    &["image", "init", "ops/Backup"],
    &["image", "init", "/"],
    &["image", "init", "backup", "--dir", "image/not-empty"],
    // image build
    &["image", "build", "--dir", "image/missing"],
    &["image", "build", "--dir", "image/no-project"],
    &["image", "build", "--dir", "image/no-dockerfile"],
    &["image", "build", "--dir", "image/demo", "--build-arg", "=x"],
    &["image", "build", "--dir", "image/demo", "--build-arg", "2FA"],
    &["image", "build", "--dir", "image/demo", "--build-arg", "2FA=x"],
    &["image", "build", "--dir", "image/demo", "--label", "novalue"],
    &["image", "build", "--dir", "image/demo", "--label", "=value"],
    &["image", "build", "--dir", "image/demo", "-f", "image/demo/Dockerfile.missing"],
    &["image", "build", "--dir", "image/demo", "--file", "image/demo"],
    &["image", "build", "--dir", "image/demo", "--target", "test"],
    &["image", "build", "--dir", "image/stages", "--target", "tests"],
    &["image", "build", "--dir", "image/buildkit"],
    &["image", "build", "--dir", "image/demo", "-f", "image/buildkit/Dockerfile.heredoc"],
    &["image", "build", "--dir", "image/demo", "-f", "image/buildkit/Dockerfile.syntax"],
    &["image", "build", "--dir", "image/demo", "--platform", "amd64"],
    &["image", "build", "--dir", "image/demo", "--registry", "https://registry.example.com"],
    &["image", "build", "--dir", "image/empty"],
    &["image", "build", "--dir", "image/list"],
    &["image", "build", "--dir", "image/not-yaml"],
    &["image", "build", "--dir", "image/no-name"],
    &["image", "build", "--dir", "image/bad-name"],
    &["image", "build", "--dir", "image/bad-version"],
    &["image", "build", "--dir", "image/version-list"],
    &["image", "build", "--dir", "image/unknown-key"],
    &["image", "build", "--dir", "image/tests-map"],
    &["image", "build", "--dir", "image/case-key"],
    &["image", "build", "--dir", "image/exit-code"],
    &["image", "build", "--dir", "image/network"],
    &["image", "build", "--dir", "image/memory"],
    &["image", "build", "--dir", "image/cpu"],
    &["image", "build", "--dir", "image/timeout"],
    &["image", "build", "--dir", "image/regex"],
    &["image", "build", "--dir", "image/command-text"],
    &["image", "build", "--dir", "image/duplicate-case"],
    &["image", "build", "--dir", "image/empty-case-name"],
    &["image", "build", "--dir", "image/env-name"],
    &["image", "build", "--dir", "image/build-arg"],
    &["image", "build", "--dir", "image/bad-dockerignore"],
    &["image", "build", "--dir", "image/lone-bang"],
    // image test
    &["image", "test", "--dir", "image/demo", "--parallel", "0"],
    &["image", "test", "--dir", "image/demo", "--parallel", "65"],
    &["image", "test", "--dir", "image/demo", "--case", "fails"],
    &["image", "test", "--dir", "image/demo", "--image", "Demo:1.0.0"],
    &["image", "test", "--dir", "image/no-cases"],
    &["image", "test", "--dir", "image/demo", "--from-cronjob", "backup"],
    &["image", "test", "--env-file", "env/bad-name.env"],
    &["image", "test", "--from-cronjob", "Backup_DB"],
    &["image", "test", "--from-cronjob", "backup", "--env-file", "env/missing.env"],
    &["image", "test", "--from-cronjob", "backup", "--env-file", "env/bad-name.env"],
    &["image", "test", "--from-cronjob", "backup", "--env-file", "env/no-name.env"],
    // image push
    &["image", "push", "--dir", "image/demo"],
    &["image", "push", "--dir", "image/demo", "--registry", "https://registry.example.com"],
    &["image", "push", "--dir", "image/bad-registry"],
    &["image", "push", "--dir", "image/demo", "--registry", "localhost:0/ops"],
    &["image", "push", "--dir", "image/demo", "--username", "ci"],
    &["image", "push", "--dir", "image/demo", "--registry", "registry.example.com", "--username", "ci", "--password-stdin"],
];

/// Writes [`FILES`] under `root`.
fn write_files(root: &Path) {
    for (name, text) in FILES {
        let path = root.join(name);
        if name.ends_with('/') {
            std::fs::create_dir_all(&path).unwrap();
            continue;
        }
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
}

/// What is wrong with how a case ended, if anything: it must exit 2, write nothing on
/// stdout, and read as the module's doc says (two lines of kuul's own, or clap's usage
/// error naming what was wrong).
fn misreport(code: Option<i32>, stdout: &[u8], stderr: &str) -> Option<&'static str> {
    if code != Some(2) {
        return Some("bad input exits 2");
    }
    if !stdout.is_empty() {
        return Some("bad input writes nothing on stdout");
    }
    let lines: Vec<&str> = stderr.lines().collect();
    if !lines.first().is_some_and(|l| l.starts_with("error: ")) {
        return Some("the report opens with `error: `");
    }
    if stderr.ends_with("For more information, try '--help'.\n") {
        let names_it = lines[0].contains('\'')
            || lines
                .get(1)
                .is_some_and(|l| l.trim_start().starts_with(['-', '<']));
        return (!names_it).then_some("clap's first line names the argument");
    }
    if lines.len() > 2 {
        return Some("at most two lines of kuul's own");
    }
    if lines.get(1).is_some_and(|l| !l.starts_with("hint: ")) {
        return Some("the second line is a `hint: `");
    }
    None
}

#[test]
fn every_input_error_as_reported() {
    let root = tempfile::tempdir().unwrap();
    write_files(root.path());
    let mut report = String::new();
    let mut failures = Vec::new();
    for args in CASES {
        let output = Command::new(env!("CARGO_BIN_EXE_kubectl-kuul"))
            .args(*args)
            .env("KUBECONFIG", root.path().join("no-kubeconfig"))
            .env("HOME", root.path())
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .env_remove("KUUL_CONFIG")
            .env("NO_COLOR", "1")
            .current_dir(root.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let command = args.iter().map(|arg| quoted(arg)).collect::<Vec<_>>();
        let command = format!("$ kubectl kuul {}", command.join(" "));
        if let Some(rule) = misreport(output.status.code(), &output.stdout, &stderr) {
            failures.push(format!(
                "{command}\n[{rule}; exit {:?}]\n{}{stderr}",
                output.status.code(),
                String::from_utf8_lossy(&output.stdout)
            ));
        }
        let _ = writeln!(report, "{command}\n{stderr}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(CASES.len() >= 100, "{} cases", CASES.len());
    insta::assert_snapshot!(report);
}

/// An argument as a shell user would type it.
fn quoted(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,*".contains(&b));
    if plain {
        arg.to_owned()
    } else {
        format!("'{arg}'")
    }
}
