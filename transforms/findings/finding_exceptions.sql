-- grain: one row per finding suppressed by an exception in force (not expired) whose
-- account is one of the finding's account's names and whose rule is the finding's rule
-- key: finding_key, account, rule
select
    f.finding_key,
    e.account,
    e.rule,
    e.reason,
    e.approved_by,
    e.expires,
from findings_all as f
inner join config_exceptions as e on e.rule = f.rule
cross join run_parameters as p
where e.expires >= p.as_of
    and (
        f.email = e.account
        or f.email in (select a.email from int_account_aliases as a where a.alias = e.account)
    )
