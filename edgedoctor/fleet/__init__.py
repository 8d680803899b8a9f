"""The fleet view: every host of one or more clusters, diagnosed by the engine of `check`.

hosts      which hostnames a cluster serves (pure)
view       one index per cluster, a per-host view of it for the engine
sweep      read each cluster once, probe hosts in parallel under one deadline, diagnose
summary    counts and Gateway-wide groups; the facts the metrics carry
render     table, JSON, Prometheus text, JUnit XML
recording  a sweep as one recording file
"""
