port=${port}
%{ for i in [1, 2] }${i}%{ endfor }
