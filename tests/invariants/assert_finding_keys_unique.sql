-- a finding_key identifies one finding
select finding_key, count(*) as n
from findings
group by finding_key
having count(*) > 1
