"""The release commands, target-neutral: deploy, promote, and the interface every target implements.

`target.ReleaseTarget` is what Cloud Run (`core.cloudrun.target`) and GKE implement; `deploy` and
`promote` orchestrate over it; `results` holds the typed results both targets fill.
"""
