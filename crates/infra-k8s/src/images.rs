//! `common.images`: container images set by image name, as Kustomize's
//! `images` does: the name matches exactly (`nginx` is not
//! `docker.io/nginx`), a new tag drops the digest and a digest drops the
//! tag (both set both), a new name keeps them, and a tag suffix is
//! appended to the tag. Rules for one name combine in order, as Kustomize
//! applies its `images` entries one after the other.

use crate::workloads::{CONTAINER_LISTS, image_parts, pod_spec_mut};
use infra_syntax::Value;

/// One rule: the image name it applies to and what to set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageRule {
    pub name: String,
    pub new_name: Option<String>,
    pub tag: Option<String>,
    pub digest: Option<String>,
    pub tag_suffix: Option<String>,
}

impl ImageRule {
    /// This rule followed by `later`, a rule for the same name: what
    /// `later` sets wins, what it leaves alone stays.
    pub fn then(&mut self, later: &ImageRule) {
        if later.new_name.is_some() {
            self.new_name.clone_from(&later.new_name);
        }
        if later.tag.is_some() || later.digest.is_some() {
            (self.tag, self.digest) = (later.tag.clone(), later.digest.clone());
        }
        if later.tag_suffix.is_some() {
            self.tag_suffix.clone_from(&later.tag_suffix);
        }
    }

    /// The image this rule makes of `image`, if the rule applies to it.
    pub fn apply(&self, image: &str) -> Option<String> {
        let (name, mut tag, mut digest) = image_parts(image);
        if name != self.name {
            return None;
        }
        match (&self.tag, &self.digest) {
            (None, None) => {}
            (t, d) => (tag, digest) = (t.as_deref(), d.as_deref()),
        }
        let tag = match &self.tag_suffix {
            Some(suffix) => Some(format!("{}{suffix}", tag.unwrap_or_default())),
            None => tag.map(str::to_string),
        };
        let mut out = self.new_name.as_deref().unwrap_or(name).to_string();
        if let Some(t) = tag {
            out.push(':');
            out.push_str(&t);
        }
        if let Some(d) = digest {
            out.push('@');
            out.push_str(d);
        }
        Some(out)
    }
}

/// Applies the first matching rule to each container's image, in every
/// container list of the object's pod spec.
pub fn set_images(object: &mut Value, rules: &[ImageRule]) {
    if rules.is_empty() {
        return;
    }
    let Some(Value::Map(spec)) = pod_spec_mut(object) else { return };
    for list in CONTAINER_LISTS {
        let Some(Value::Seq(containers)) = spec.get_mut(list) else { continue };
        for c in containers {
            let Some(Value::String(image)) = c.as_map_mut().and_then(|m| m.get_mut("image")) else { continue };
            if let Some(new) = rules.iter().find_map(|r| r.apply(image)) {
                *image = new.into();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, new_name: Option<&str>, tag: Option<&str>, digest: Option<&str>) -> ImageRule {
        ImageRule {
            name: name.into(),
            new_name: new_name.map(Into::into),
            tag: tag.map(Into::into),
            digest: digest.map(Into::into),
            tag_suffix: None,
        }
    }

    #[test]
    fn rules_for_one_name_combine_in_order_and_suffixes_extend_the_tag() {
        let mut r = rule("app", None, Some("v2"), None);
        r.then(&rule("app", Some("registry.example/app"), None, None));
        assert_eq!(r.apply("app:v1@sha256:ab").as_deref(), Some("registry.example/app:v2"));
        r.then(&ImageRule { name: "app".into(), tag_suffix: Some("-native".into()), ..Default::default() });
        assert_eq!(r.apply("app").as_deref(), Some("registry.example/app:v2-native"));
        let suffix = ImageRule { name: "app".into(), tag_suffix: Some("-debug".into()), ..Default::default() };
        assert_eq!(suffix.apply("app:1.2").as_deref(), Some("app:1.2-debug"));
    }

    #[test]
    fn splits_registries_with_ports_tags_and_digests() {
        assert_eq!(image_parts("nginx"), ("nginx", None, None));
        let parts = image_parts("localhost:5000/app:1@sha256:ab");
        assert_eq!(parts, ("localhost:5000/app", Some("1"), Some("sha256:ab")));
        assert_eq!(image_parts("localhost:5000/app"), ("localhost:5000/app", None, None));
        assert_eq!(crate::workloads::image_name("docker.io/grafana/grafana:11.3.0@sha256:ab"), "grafana");
    }

    #[test]
    fn rules_as_kustomize_applies_them() {
        let tag = rule("nginx", None, Some("1.27"), None);
        assert_eq!(tag.apply("nginx").as_deref(), Some("nginx:1.27"));
        assert_eq!(tag.apply("nginx:1.2@sha256:aa").as_deref(), Some("nginx:1.27"));
        assert_eq!(tag.apply("docker.io/nginx:1.2"), None);
        assert_eq!(tag.apply("nginxx:1"), None);
        let digest = rule("grafana/grafana", None, None, Some("sha256:bb"));
        assert_eq!(digest.apply("grafana/grafana:10").as_deref(), Some("grafana/grafana@sha256:bb"));
        let moved = rule("localhost:5000/tools", Some("registry.example/tools"), None, None);
        assert_eq!(moved.apply("localhost:5000/tools:1").as_deref(), Some("registry.example/tools:1"));
    }
}
