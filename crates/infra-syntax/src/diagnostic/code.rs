//! Every diagnostic code, in one registry: its stable id, the stage that
//! reports it, and what it means. `docs/errors.md` is generated from this
//! table (a test keeps it fresh), so no code can be used undocumented.

macro_rules! codes {
    ($( $variant:ident = $id:literal : $meaning:literal; )*) => {
        /// A stable diagnostic code; the first letter of its id is the stage.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Code {
            $( #[doc = $meaning] $variant, )*
        }

        impl Code {
            pub const ALL: &[Code] = &[$( Code::$variant, )*];

            /// The stable id users search for: `E110`.
            pub fn id(self) -> &'static str {
                match self { $( Code::$variant => $id, )* }
            }

            /// What the code means, as documented.
            pub fn meaning(self) -> &'static str {
                match self { $( Code::$variant => $meaning, )* }
            }
        }
    };
}

codes! {
    InvalidYaml = "L001": "Invalid YAML (syntax, nesting deeper than 200 levels, anchors and aliases copying more than 2,000,000 nodes).";
    BadKey = "L002": "A mapping key that is not a scalar, or a `<<` merge of something other than mappings.";
    DuplicateKey = "L003": "A key appears twice in one mapping, as written or once its expressions are evaluated.";
    CannotRead = "L010": "A file cannot be read: missing, not a regular file, larger than the limit (16 MiB unless `INFRA_MAX_FILE_BYTES` says otherwise), binary (a NUL byte) or not UTF-8.";
    OutsideProject = "L011": "A path is absolute or leaves the project root (by `..` or a symbolic link), or a glob is malformed.";
    GlobMatchesNothing = "L012": "A `resources` glob matches no file.";
    GitRevision = "L013": "`plan --base` cannot read the compiled output at that git revision (unknown revision, not a git repository, no git).";
    UnknownKey = "L020": "Unknown key in `infra.yaml`, an environment, a patch, `common` or `schema` (with \"did you mean\").";
    WrongType = "L021": "A field has the wrong type or a value it cannot take (`resources` not a list, `hashing` not `suffix`/`none`, a chart's or a dashboard entry's field once evaluated, ...).";
    MissingField = "L022": "A required field is missing (`name`, a module's `source`, a patch body).";
    InvalidName = "L023": "An invalid project, module or environment name (`[a-z0-9-]+`).";
    UnknownEnvironment = "L024": "`--env` names an environment the project does not have.";
    RequiredVersion = "L025": "`required_version` in infra.yaml excludes the infra that runs (or is not a version requirement): output can differ between versions.";
    ModuleCycle = "L030": "A module includes itself, directly or through others.";
    UnknownParam = "E100": "An environment or module sets a parameter that has no default (typo guard).";
    ParamType = "E101": "A parameter value's type differs from its default's.";
    SchemaViolation = "E102": "A `schema` constraint fails (`pattern`, `enum`, `min`, `max`, `required`, `required_when`) or names no parameter.";
    ExpressionFailed = "E110": "An expression fails while it runs: a type error, a filter's or function's error (`file()` outside the project), a `ref()` inside a computation, or a limit (runaway work, a result too large); the part that failed is marked when known.";
    UnclosedExpression = "E111": "`${{` without its `}}`.";
    ExpressionNotEvaluated = "E112": "An expression in a params default, where nothing is evaluated: defaults are plain values (compute in an environment's params, a module instance's params or a resource).";
    ExpressionSyntax = "E113": "An expression is not valid syntax (`${{ 1 + }}`): what the parser expected, marked where it stopped.";
    UndefinedInExpression = "E114": "An expression names what its context does not have: an unknown name or key (with \"did you mean\"), or a value that is undefined.";
    ExpressionNotAllowed = "E115": "An expression uses what infra's expressions do not allow: a filter, test, function or method outside the list (the message names them), or a repetition (`'x' * n`) whose count is not known before it runs. Each allowed construct has a cost infra knows before the expression runs.";
    UnknownDirective = "E120": "Unknown directive in an `infra:` block.";
    DirectiveType = "E121": "A directive has the wrong type (a quoted `when` is a string: drop the quotes).";
    PatchMatchesNothing = "E130": "A patch matches no object.";
    PatchOpFailed = "E131": "A patch operation fails (RFC 6902 path missing, `test` fails).";
    PatchTargetInvalid = "E132": "A patch target's field (`kind`, `name`, `namespace`, ...) is not a regular expression.";
    PatchChangesIdentity = "E133": "A patch changes its object's kind, name or namespace without `rename: true`.";
    PatchNamesNoObject = "E134": "A patch without `target` does not name its object (`apiVersion`, `kind`, `metadata.name`), or names several (add `metadata.namespace`).";
    NotAnObject = "E140": "A document is not a Kubernetes object (no `apiVersion`, `kind` or `metadata.name`).";
    InvalidIdentity = "E141": "An object's `apiVersion`, `kind`, `metadata.name` or `metadata.namespace` breaks Kubernetes' rules (after expressions, patches and `common`; also in manifests read by `diff`, `plan` and `import`). See `docs/output.md`.";
    NoNamespace = "E142": "A namespaced object has no namespace after `common`: it is written under `_cluster/` and kubectl would apply it to its current namespace (warning; set `common.namespace` or the object's).";
    TooManyInstances = "E150": "An environment expands more than 10,000 module instances: modules that each use others several times multiply.";
    TooManyObjects = "E151": "A build makes more objects than `INFRA_MAX_OBJECTS` allows (250,000 unless set), all environments together; reported at the `for_each` or document that passes the limit.";
    OutputTooLarge = "E152": "A build's objects would be written as more YAML than `INFRA_MAX_OUTPUT_BYTES` allows (256 MiB unless set), all environments together; the largest objects are named.";
    TooLargeForClientSide = "E153": "Objects larger than 256 KiB (big CRDs, dashboards), which client-side `kubectl apply` cannot store in its annotation: apply server-side (warning, one for all).";
    DuplicateObject = "G200": "Two objects have the same group, kind, namespace and name.";
    DependencyCycle = "G201": "A dependency cycle; every edge of the cycle is shown.";
    Unresolved = "G202": "A reference to an object that is neither in the project nor `external` (warning; error with `--strict`).";
    NamespaceNotDefined = "G204": "Objects are in namespaces the project does not define (one warning for all; `--strict` leaves it a warning: namespaces are often made by the platform).";
    BadTarget = "G203": "A `depends_on` or `ref()` target that is malformed or ambiguous.";
    ObjectSchema = "K100": "An object breaks its kind's schema (`build --validate`, and `--strict`): a field of the wrong type, an unknown field (the API server's strict field validation refuses it), a missing required field. Built-in kinds are checked against the Kubernetes OpenAPI schema of `--kube-version`, custom resources against their CRD's `openAPIV3Schema` when the CRD is in the build.";
    NoSchema = "K101": "Objects that `--validate` cannot check: their kind is neither built in to Kubernetes nor defined by a CRD in the build (warning, one for all).";
    CrdSchema = "K102": "A CRD's `openAPIV3Schema` is not a schema infra can use: its custom resources are not checked (warning).";
    SchemaVersion = "K103": "`--kube-version` is not a Kubernetes version, or older than the oldest schemas infra has (1.25); newer than the newest is a warning (the newest are used).";
    DashboardJson = "D100": "A dashboard file is not valid JSON (line and column of the problem), or holds more than 1,000,000 values.";
    DashboardNotObject = "D101": "A dashboard file is not a JSON object.";
    DashboardInputs = "D102": "An exported dashboard declares inputs and no `datasource` fills them (warning).";
    DashboardTooLarge = "D103": "A dashboard's object exceeds Kubernetes' 1 MiB limit.";
    DashboardNoUid = "D105": "A dashboard has no `uid`; a stable one derived from its path is used (warning).";
    DashboardUidTwice = "D106": "Two dashboards of one build share a `uid`.";
    DashboardNoSidecar = "D107": "Sidecar dashboards in a project that runs Grafana, and no container watches their label: nothing loads them (warning).";
    DashboardKey = "D108": "A dashboard's ConfigMap key, from its file name or `key:`, is not a valid key (letters, digits, `-`, `_`, `.`).";
    DashboardFolderIgnored = "D109": "A sidecar dashboard's `folder` is in an annotation that the sidecar watching it does not read (its `FOLDER_ANNOTATION`; kube-prometheus-stack sets none): Grafana puts it in General (warning).";
    ChartUnreadable = "H100": "A chart cannot be read: missing, outside the project, a corrupt archive, or not a chart (no `Chart.yaml`).";
    HelmMissing = "H101": "A project has charts and no Helm is found (`INFRA_HELM`, or `helm` on `PATH`).";
    HelmFailed = "H102": "`helm template` fails: a template error (`required`, `fail`), a `values.schema.json` violation, a missing dependency; the chart's file and line, and the value in `infra.yaml` where there is one.";
    HelmTimeout = "H103": "Helm runs longer than `INFRA_HELM_TIMEOUT` (seconds, default 120) and is stopped.";
    NotDeterministic = "H104": "A chart renders differently on two runs (a generated password or certificate); the object, field and template are named, with the value to set.";
    UnknownChartValue = "H105": "A chart value that the chart does not have and that is close to one it has (\"did you mean\"): the typo Helm ignores.";
    ChartValueType = "H106": "A chart value whose type differs from the chart's non-null default (warning).";
    ChartValues = "H107": "A chart's `values` or a `values_files` file is not a mapping, or `exclude` names no object of the render.";
    ChartRender = "H108": "A chart's render is not YAML or holds something that is not a Kubernetes object.";
    ChartHooks = "H109": "A chart's Helm hooks are kept as ordinary objects, `pre-*` before the chart's others and `post-*` after (warning; `hooks: drop` drops them).";
    ChartSetting = "H110": "A chart entry's `release`, `namespace`, `kube_version` or `api_versions` is not what Helm accepts (a release name is a DNS-1123 name of at most 53 characters): nothing from a project reaches Helm's command line unchecked.";
    UnknownChart = "H111": "An environment or `--set charts.<name>.…` gives values to a chart the project does not have.";
    UnreadChartValue = "H112": "A chart value that the chart does not have and no template of it (or of its subcharts) reads: Helm would ignore it (warning, with what the templates read beside it).";
    StateWithoutStorage = "S100": "A stateful image keeps its data outside a PersistentVolumeClaim (warning; `ephemeral: true` acknowledges it).";
    PlainSecret = "S101": "Secrets whose values are in plain text in the output, and so in git (warning, one for all; `plain_secret: true` or the annotation `infra.dev/plain-secret: \"true\"` for values that may be public; SOPS documents and `external` stubs are not counted).";
    OutputHoldsSources = "W300": "The output folder is the project, above it, or holds a file the project reads.";
    LockEntryIgnored = "W301": "An `infra.lock` entry names a file outside the output folder (or the lock is unreadable): it is ignored (warning).";
    UnlistedYaml = "W302": "The output folder holds YAML files that no lock lists: they are kept, and `kubectl apply -R` would apply them (warning).";
    InTheWay = "W303": "A file, folder or link that infra did not write is where the build writes: nothing is written.";
    CannotWrite = "W304": "The output cannot be written: the folder is a symbolic link or not a folder, or the file system refused (permission, space).";
    Failed = "C000": "The command failed; the summary line after the diagnostics that made it fail.";
    Usage = "C001": "The command line asks for something that cannot be done (`-o` with several environments, `--check` with `-o -`, two `-` inputs).";
    NothingToImport = "C002": "`import` was given no manifests, or manifests that hold no object, or an invalid `--name`.";
    Grafana = "C010": "A Grafana API request failed: unreachable, refused (401/403), not JSON, too slow, or an unexpected answer.";
    ChartPull = "C020": "`infra chart pull` failed: Helm is missing, the repository is unreachable, or it has no such chart or version.";
}

/// The stages of codes, by the first letter of their ids.
const STAGES: &[(char, &str)] = &[
    ('L', "Load (`L`): reading files and the project's shape"),
    ('E', "Eval (`E`): parameters, expressions, directives, patches"),
    ('G', "Link (`G`): the graph"),
    ('K', "Kubernetes schemas (`K`): `build --validate`"),
    ('D', "Dashboards (`D`)"),
    ('H', "Charts (`H`): upstream Helm charts"),
    ('S', "Storage (`S`)"),
    ('W', "Writing output (`W`)"),
    ('C', "Commands (`C`)"),
];

/// `docs/errors.md`.
pub fn errors_markdown() -> String {
    let mut out = String::from(
        "# Diagnostics\n\n\
         <!-- Generated from crates/infra-syntax/src/diagnostic/code.rs by\n     `INFRA_UPDATE_DOCS=1 cargo test --test it docs::`; do not edit. -->\n\n\
         Every error about a file names `file:line:column`, shows the source\n\
         line with the problem marked and, where it can, a `help:` line.\n\
         `--error-format json` prints one JSON object per line instead (`severity`,\n\
         `code`, `message`, `path`, `labels` with `file`, `line`, `column`,\n\
         `end_line`, `end_column`, `text`, `primary`; `notes`, `help`,\n\
         `environments`), for\n\
         editors and CI; every message a command prints about a failure is one of\n\
         them, the final summary (`C000`) included; status lines (`wrote 3 objects\n\
         to ...`) are objects with `\"severity\": \"info\"` and a `message`. Codes are\n\
         stable; the first letter is the stage that reports them. Errors exit with\n\
         status 1; warnings do not fail a command.\n\
         \n\
         A build of several environments reports a mistake they share once,\n\
         with a note naming them (`environments` in JSON; empty when one\n\
         environment is built); a document expanded by `for_each` reports a\n\
         mistake of its text once, not once per item.\n",
    );
    for (letter, title) in STAGES {
        out.push_str(&format!("\n## {title}\n\n| code | meaning |\n|---|---|\n"));
        for code in Code::ALL.iter().filter(|c| c.id().starts_with(*letter)) {
            out.push_str(&format!("| {} | {} |\n", code.id(), code.meaning()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_well_formed_and_in_a_stage() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let id = code.id();
            assert!(seen.insert(id), "{id} is used twice");
            assert_eq!(id.len(), 4, "{id}");
            assert!(id[1..].bytes().all(|b| b.is_ascii_digit()), "{id}");
            assert!(STAGES.iter().any(|(l, _)| id.starts_with(*l)), "{id} has no stage");
            assert!(code.meaning().ends_with('.'), "{id}");
        }
    }
}
