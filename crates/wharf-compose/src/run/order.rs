//! Dependency order: `up` acts on a service once every service it
//! depends on is done (Compose's `InDependencyOrder`), `down` in the
//! reverse order (`InReverseDependencyOrder`). Services of one level do
//! not depend on each other and may run in parallel.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::Project;

/// `project`'s services in levels: level 0 depends on nothing, level N on
/// services of lower levels only; names sorted within a level. A
/// dependency on a service the project does not hold is ignored (the
/// loader has refused those that are required). Cycles, refused by the
/// loader too, end up in a last level rather than looping.
pub fn dependency_levels(project: &Project) -> Vec<Vec<String>> {
    let mut pending: BTreeMap<&str, BTreeSet<&str>> = project
        .services
        .iter()
        .map(|(name, s)| {
            let deps = s
                .depends_on
                .keys()
                .map(String::as_str)
                .filter(|d| project.services.contains_key(*d) && d != name)
                .collect();
            (name.as_str(), deps)
        })
        .collect();
    let mut levels = Vec::new();
    while !pending.is_empty() {
        let ready: Vec<&str> = pending
            .iter()
            .filter(|(_, deps)| deps.is_empty())
            .map(|(n, _)| *n)
            .collect();
        if ready.is_empty() {
            levels.push(pending.keys().map(|n| n.to_string()).collect());
            break;
        }
        for n in &ready {
            pending.remove(n);
        }
        for deps in pending.values_mut() {
            for n in &ready {
                deps.remove(n);
            }
        }
        levels.push(ready.into_iter().map(str::to_string).collect());
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dependency, Service};

    fn service(deps: &[&str]) -> Service {
        Service {
            depends_on: deps
                .iter()
                .map(|d| (d.to_string(), Dependency::default()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn dependencies_come_first() {
        let mut p = Project::default();
        p.services.insert("web".into(), service(&["db", "cache"]));
        p.services.insert("db".into(), service(&[]));
        p.services.insert("cache".into(), service(&["db"]));
        p.services.insert("worker".into(), service(&["missing"]));
        assert_eq!(
            dependency_levels(&p),
            vec![
                vec!["db".to_string(), "worker".to_string()],
                vec!["cache".to_string()],
                vec!["web".to_string()],
            ]
        );
    }
}
