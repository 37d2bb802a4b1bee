-- grain: one row per finding, as reported: every rule's findings less those an approved
-- exception in force suppresses (those stay listed in finding_exceptions)
-- key: finding_key
select *
from findings_all
where finding_key not in (select finding_key from finding_exceptions
                          where finding_key is not null)
order by
    case severity when 'high' then 1 when 'medium' then 2 else 3 end,
    rule, request_number, email, application
