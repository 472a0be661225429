-- Texts greet people by name and say who wrote in, with a fallback when Rapport does not know
-- (`{{customer.name | "there"}}`). Only built-in rules still holding their original text change.
UPDATE rules
SET actions = json_replace(actions, '$[0].text',
        'Hi {{customer.name | "there"}}, thanks for getting in touch! We have your message and will answer here as soon as we can.')
WHERE template = 'auto_reply'
  AND json_extract(actions, '$[0].text') = 'Thanks for getting in touch! We have your message and will answer here as soon as we can.';

UPDATE rules
SET actions = json_replace(actions, '$[0].text',
        'New {{item.kind}} by {{channel}} from {{customer.email | "a visitor who left no address"}}: "{{item.title}}"' || char(10) || char(10) || '{{item.description}}')
WHERE template = 'ticket_notification'
  AND json_extract(actions, '$[0].text') = 'New {{item.kind}} by {{channel}} from {{customer.email}}: "{{item.title}}"' || char(10) || char(10) || '{{item.description}}';
