-- grain: one row per configured exception: applied, no finding to suppress, expired, or
-- for an account nobody knows
-- key: account, rule, expires
select
    e.account,
    e.rule,
    e.reason,
    e.approved_by,
    e.expires,
    case
        when e.expires < p.as_of then 'expired: not applied'
        when e.account not in (select alias from int_account_aliases where alias is not null)
            then 'unknown account: not applied'
        when exists (
            select 1 from finding_exceptions as x
            where x.account = e.account and x.rule = e.rule
        ) then 'applied'
        else 'in force, no finding to suppress'
    end as status,
    (
        select count(*) from finding_exceptions as x
        where x.account = e.account and x.rule = e.rule
    ) as findings_suppressed,
from config_exceptions as e
cross join run_parameters as p
order by e.account, e.rule
