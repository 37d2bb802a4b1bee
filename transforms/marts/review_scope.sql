-- grain: one row for the run: what the review covered (groups, active members, directory
-- and application accounts)
-- key: as_of
select
    p.as_of,
    (select count(*) from int_groups) as groups,
    (select count(*) from int_members where member_status = 'active') as members,
    (select count(*) from int_directory_identities) as directory_accounts,
    (select count(*) from stg_application_accounts) as application_accounts,
from run_parameters as p
